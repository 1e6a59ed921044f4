"""`zfstm run [TARGET...] [--dry-run] [--now TIME]`: one tick: detect, snapshot if due, mark known-good, prune.

For each target (all configured ones by default), under its lock: read the share's Time Machine files and the
dataset, judge whether a backup is in progress or completed and quiet, take the due snapshots (all due targets of
a pool and their CNID datasets in one atomic call), move the ``zfstm-known-good`` hold to the newest snapshot taken
after a completed, verified backup (hold first, then release), and prune per the retention policy.

``--dry-run`` prints the plan and changes nothing. Exit status: 0 done; 5 a target was busy (another zfstm run
holds its lock; the others were done); 4 retention refused (clock or circuit breaker; ``--force`` overrides only
the breaker); 3 ZFS refused some destroys; 6 configuration error; 7/8 ZFS errors.
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
from zfstm.snapshots.memory import Memory


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="one tick: detect finished backups, snapshot if due, mark known-good, prune",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="target names or datasets (default: all)")
    add_config_argument(parser)
    parser.add_argument("--dry-run", action="store_true", help="print what the tick would do; change nothing")
    parser.add_argument("--now", metavar="TIME", help="act as of this ISO-8601 instant (default: the clock)")
    parser.add_argument("--force", action="store_true", help="override retention's circuit breaker")
    parser.add_argument("--json", action="store_true", help="machine-readable report")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return tick_and_report(args, force=args.force)


def tick_and_report(args: argparse.Namespace, *, force: bool = False, manual: bool = False, prune: bool = True) -> int:
    """One tick for the targets ``args`` names under its configuration; print the report; its exit status.

    Shared by `zfstm run` and `zfstm snapshot` (a manual tick that does not prune).
    """
    config = load_from_args(args)
    state_dir = state_dir_for(config)
    report = run_tick(
        config,
        select_targets(config, args.targets),
        backend_for(config, args),
        now_from(args.now),
        run_dir=run_dir_for(config),
        state_dir=state_dir,
        memory=None if args.dry_run else Memory.load(state_dir, config.backend.remember),
        dry_run=args.dry_run,
        force=force,
        manual=manual,
        prune=prune,
    )
    if args.json:
        json.dump(report_json(report), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(report_text(report))
    return report.exit_code
