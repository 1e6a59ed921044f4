"""`zfstm status [TARGET...] [--json]`: per target the last backup, verification, snapshots and known-good.

Read-only and lock-free: it lists snapshots (with USED and REFER, like ``zfs list``) and reads the share's Time
Machine files; it never writes, so it may run while a tick holds the lock. A target that cannot be read is named
with its cause (stderr; ``errors`` in --json) and the others are still shown; the exit code is the first error's.
"""

from __future__ import annotations

import argparse
import json
import sys

from zfstm.cli.config import add_config_argument, backend_for, load_from_args, now_from, select_targets
from zfstm.errors import InternalError, ZfstmError
from zfstm.lifecycle.observe import observe
from zfstm.lifecycle.status import TargetStatus, status_json, status_text, target_status


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status",
        help="last backup, verification, last and known-good snapshot, snapshots with USED and REFER",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="target names or datasets (default: all)")
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--summary", action="store_true", help="table: leave out the per-snapshot lists")
    parser.add_argument("--now", metavar="TIME", help="judge activity as of this ISO-8601 instant")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load_from_args(args)
    backend = backend_for(config, args)
    now = now_from(args.now)
    statuses: list[TargetStatus] = []
    errors: list[tuple[str, ZfstmError]] = []
    for target in select_targets(config, args.targets):
        try:
            statuses.append(target_status(observe(backend, config, target, state_dir=None), now))
        except Exception as exc:  # one target's trouble is reported; the others are still shown
            error = exc if isinstance(exc, ZfstmError) else InternalError(f"{type(exc).__name__}: {exc}")
            errors.append((target.name, error))
    if args.json:
        document = status_json(statuses)
        if errors:
            document["errors"] = [
                {"target": name, "message": str(error), "exit_code": error.exit_code} for name, error in errors
            ]
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(status_text(statuses, snapshots=not args.summary))
    for name, error in errors:
        print(f"zfstm status: {name}: cannot be read: {error}", file=sys.stderr)
    return errors[0][1].exit_code if errors else 0
