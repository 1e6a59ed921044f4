"""`zfstm snapshot [TARGET...]`: take a snapshot now, whatever the detector says (a manual trigger).

All named targets (default: all) of one pool and their CNID datasets are snapshotted in one atomic call, under
their locks, with the usual ``zfstm:*`` properties (``zfstm:trigger=manual``; the detector's judgement is still
recorded, so a snapshot taken during a backup never becomes known-good). The known-good hold moves if the new
snapshot qualifies; nothing is pruned (that is `zfstm run` or `zfstm prune`). ``--dry-run`` only prints.
"""

from __future__ import annotations

import argparse

from zfstm.cli.config import add_config_argument
from zfstm.cli.run import tick_and_report


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "snapshot",
        help="take a snapshot of the targets now (one atomic call per pool, CNID datasets included)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="target names or datasets (default: all)")
    add_config_argument(parser)
    parser.add_argument("--dry-run", action="store_true", help="print what would be snapshotted; change nothing")
    parser.add_argument("--now", metavar="TIME", help="name the snapshot for this ISO-8601 instant")
    parser.add_argument("--json", action="store_true", help="machine-readable report")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return tick_and_report(args, manual=True, prune=False)
