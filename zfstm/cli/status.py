"""`zfstm status [TARGET...] [--json] [--prometheus FILE]`: per target the last backup, verification, snapshots and
known-good, and which ZFS backend zfstm uses and why.

Read-only and lock-free: it lists snapshots (with USED and REFER, like ``zfs list``), reads the share's Time
Machine files and the last look the ticks recorded in the state directory (a volume's quiet period is counted from
it); it never writes, so it may run while a tick holds the lock. A target that cannot be read is named
with its cause (stderr; ``errors`` in --json) and the others are still shown; the exit code is the first error's.
``--prometheus FILE`` writes the per-target metrics in Prometheus' text format instead (``-`` for stdout),
replacing FILE in one rename, for node_exporter's textfile collector; a target that cannot be looked at is reported
there as ``zfstm_target_up 0`` instead of failing the whole run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import attrs

from zfstm import __version__
from zfstm.atomicfile import write_atomically
from zfstm.cli.config import (
    add_config_argument,
    backend_choice_for,
    load_from_args,
    now_from,
    select_targets,
    state_dir_for,
)
from zfstm.config.model import Config, Target
from zfstm.errors import InternalError, ZfstmError
from zfstm.events.record import read_event
from zfstm.lifecycle.observe import listing_of, observe
from zfstm.lifecycle.status import TargetStatus, status_json, status_text, target_status
from zfstm.prometheus import TargetSample, prometheus_text
from zfstm.rollback.journal import unfinished_rollbacks
from zfstm.snapshots.model import DatasetState
from zfstm.zfs import BackendChoice, ZfsBackend


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status",
        help="last backup, verification, last and known-good snapshot, snapshots with USED and REFER; ZFS backend",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="target names or datasets (default: all)")
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--summary", action="store_true", help="table: leave out the per-snapshot lists")
    parser.add_argument("--now", metavar="TIME", help="judge activity as of this ISO-8601 instant")
    parser.add_argument(
        "--prometheus", metavar="FILE", help="write Prometheus text-format metrics to FILE atomically (- for stdout)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load_from_args(args)
    backend, choice = backend_choice_for(config, args)
    if args.prometheus:
        return write_metrics(args, config, backend, choice)
    now = now_from(args.now)
    statuses: list[TargetStatus] = []
    errors: list[tuple[str, ZfstmError]] = []
    state_dir = state_dir_for(config)  # read, never written here: the ticks record the last look
    targets = select_targets(config, args.targets)
    listed = listing_of(backend, config, targets)  # one batch per pool; a dataset's error is raised by observe
    for target in targets:
        try:
            status = target_status(observe(backend, config, target, state_dir=state_dir, listed=listed), now)
            event = read_event(state_dir, target.name) if config.events.enabled else None
            statuses.append(attrs.evolve(status, event=event))
        except Exception as exc:  # one target's trouble is reported; the others are still shown
            error = exc if isinstance(exc, ZfstmError) else InternalError(f"{type(exc).__name__}: {exc}")
            errors.append((target.name, error))
    if args.json:
        document = status_json(statuses, choice.as_json())
        if errors:
            document["errors"] = [
                {"target": name, "message": str(error), "exit_code": error.exit_code} for name, error in errors
            ]
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(status_text(statuses, snapshots=not args.summary, backend=choice.as_json()))
    for name, error in errors:
        print(f"zfstm status: {name}: cannot be read: {error}", file=sys.stderr)
    return errors[0][1].exit_code if errors else 0


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def sample_target(
    backend: ZfsBackend,
    config: Config,
    target: Target,
    now: datetime,
    *,
    rollback_unfinished: bool,
    state_dir: Path,
    listed: Mapping[str, DatasetState | Exception],
) -> TargetSample:
    """Status and space figures of one target; a ZfstmError becomes a sample saying the target is down."""
    from zfstm.cli.check import pool_capacity

    dataset = target.dataset.full
    try:
        status = target_status(observe(backend, config, target, state_dir=state_dir, listed=listed), now)
    except ZfstmError as exc:
        return TargetSample(target.name, dataset, error=type(exc).__name__, rollback_unfinished=rollback_unfinished)
    try:
        space = backend.get_properties(target.dataset, ["used", "available"])
    except ZfstmError:
        space = {}  # the samples are left out; the target itself was looked at
    return TargetSample(
        target.name,
        dataset,
        status,
        used=_int(space.get("used")),
        available=_int(space.get("available")),
        capacity=pool_capacity(backend, target.dataset),
        rollback_unfinished=rollback_unfinished,
    )


def write_metrics(args: argparse.Namespace, config: Config, backend: ZfsBackend, choice: BackendChoice) -> int:
    now = now_from(args.now)
    state_dir = state_dir_for(config)  # read, never written here
    unfinished = {u.target for u in unfinished_rollbacks(state_dir)}
    targets = select_targets(config, args.targets)
    listed = listing_of(backend, config, targets)  # one batch per pool, as for the table
    samples = [
        sample_target(
            backend,
            config,
            target,
            now,
            rollback_unfinished=target.name in unfinished,
            state_dir=state_dir,
            listed=listed,
        )
        for target in targets
    ]
    text = prometheus_text(samples, now, version=__version__, backend=choice)
    if args.prometheus == "-":
        sys.stdout.write(text)
    else:
        write_atomically(Path(args.prometheus), text)
    return 0
