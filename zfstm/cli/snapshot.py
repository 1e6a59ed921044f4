"""`zfstm snapshot [TARGET...]`: take a snapshot now, whatever the detector says (a manual trigger).

All named targets (default: all) of one pool and their CNID datasets are snapshotted in one atomic call, under
their locks, with the usual ``zfstm:*`` properties (``zfstm:trigger=manual``; the detector's judgement is still
recorded, so a snapshot taken during a backup never becomes known-good). The known-good hold moves if the new
snapshot qualifies; nothing is pruned (that is `zfstm run` or `zfstm prune`). ``--dry-run`` only prints.
"""

from __future__ import annotations

import argparse
import json
import sys

from zfstm.cli.config import (
    add_config_argument,
    backend_for,
    load_from_args,
    now_from,
    run_dir_for,
    select_targets,
    state_dir_for,
)
from zfstm.lifecycle.report import report_json, report_text
from zfstm.lifecycle.tick import run_tick


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
    config = load_from_args(args)
    report = run_tick(
        config,
        select_targets(config, args.targets),
        backend_for(config, args),
        now_from(args.now),
        run_dir=run_dir_for(config),
        state_dir=state_dir_for(config),
        dry_run=args.dry_run,
        manual=True,
        prune=False,
    )
    if args.json:
        json.dump(report_json(report), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(report_text(report))
    return report.exit_code
