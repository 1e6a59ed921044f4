"""`zfstm check [TARGET...] [--json] [--backup-age WARN,CRIT] ...`: a Nagios-style check of every target.

Exit code 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for a configuration it cannot read, a bad flag or an internal
error; a target that cannot be read is UNKNOWN with its cause, the others are still checked), and one summary line
with performance data; --json gives every finding. Checked per target: age of the last completed backup, Time
Machine's verification verdict, age of the last zfstm snapshot and of the known-good one, an unfinished rollback,
the pool's capacity, and (with [events]) that session events still arrive. On a replica (replica = true) the age
of its newest zfstm snapshot is judged as the replication lag (--replication-lag), and its known-good snapshot is
the one the source's rule picks from the received snapshots' properties. Ages take durations such as 36h or 7d;
capacity takes fractions or percentages (80%).
Thresholds come from the built-in defaults, then the configuration's [check] table, then the target's
[targets.check], key by key; a flag given here wins over all of them, for every target.
Read-only and lock-free, like `zfstm status`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import attrs

from zfstm.check.verdict import (
    MISSING_STATES,
    VERIFICATION_FAILED_STATES,
    Finding,
    Limit,
    State,
    check_json,
    evaluate,
    parse_age_limit,
    parse_capacity_limit,
    parse_state,
)
from zfstm.cli.config import add_config_argument, backend_for, load_from_args, now_from, select_targets, state_dir_for
from zfstm.deadline import deadline, positive_seconds
from zfstm.errors import ZfstmError
from zfstm.events.record import listening_since, read_event
from zfstm.events.silence import silence_finding
from zfstm.lifecycle.observe import listing_of, observe
from zfstm.lifecycle.status import facts_from_status, target_status
from zfstm.rollback.journal import unfinished_rollbacks
from zfstm.zfs import DatasetName, ZfsBackend


def age_limit(text: str) -> Limit:
    try:
        return parse_age_limit(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def fraction_limit(text: str) -> Limit:
    try:
        return parse_capacity_limit(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="monitoring check (Nagios exit codes 0-3): backup, verification, snapshot ages, rollback, capacity",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="target names or datasets (default: all)")
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true", help="every finding, machine-readable")
    parser.add_argument("--now", metavar="TIME", help="judge ages as of this ISO-8601 instant")
    # Defaults are None: an unset flag leaves the configuration's [check] / [targets.check] value (see _overrides).
    parser.add_argument("--backup-age", type=age_limit, metavar="WARN,CRIT",
                        help="age of the last completed backup (default: [check], else 2d,7d)")  # fmt: skip
    parser.add_argument("--snapshot-age", type=age_limit, metavar="WARN,CRIT",
                        help="age of the last zfstm snapshot (default: [check], else 2d,7d)")  # fmt: skip
    parser.add_argument("--known-good-age", type=age_limit, metavar="WARN,CRIT",
                        help="age of the known-good snapshot (default: [check], else 7d,14d)")  # fmt: skip
    parser.add_argument("--replication-lag", type=age_limit, metavar="WARN,CRIT",
                        help="a replica's newest zfstm snapshot (default: [check], else 2d,7d)")  # fmt: skip
    parser.add_argument("--capacity", type=fraction_limit, metavar="WARN,CRIT",
                        help="pool capacity (default: [check], else 80%%,90%%)")  # fmt: skip
    parser.add_argument("--verification-failed", choices=VERIFICATION_FAILED_STATES,
                        help="state for a failed Time Machine verification "
                             "(default: [check], else critical)")  # fmt: skip
    parser.add_argument("--missing", choices=MISSING_STATES,
                        help="state when there is no backup/snapshot/known-good yet "
                             "(default: [check], else warning)")  # fmt: skip
    parser.add_argument("--timeout", type=timeout_seconds, metavar="SECONDS",
                        help="answer UNKNOWN after SECONDS (below the monitoring system's own timeout)")  # fmt: skip
    parser.set_defaults(handler=run)


def pool_capacity(backend: ZfsBackend, dataset: DatasetName) -> float | None:
    """used / (used + available) of the pool's root dataset (what `zfs list POOL` shows); None if unreadable."""
    try:
        values = backend.get_properties(DatasetName(dataset.pool), ["used", "available"])
        used, avail = int(values["used"] or ""), int(values["available"] or "")
    except (ZfstmError, ValueError, KeyError):
        return None
    return used / (used + avail) if used + avail > 0 else None


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The thresholds given as flags; they win over the target's configured ones."""
    given: dict[str, Any] = {
        key: getattr(args, key)
        for key in ("backup_age", "snapshot_age", "known_good_age", "replication_lag", "capacity")
    }
    for key, allowed in (("verification_failed", VERIFICATION_FAILED_STATES), ("missing", MISSING_STATES)):
        word = getattr(args, key)
        given[key] = None if word is None else parse_state(word, allowed)
    return {key: value for key, value in given.items() if value is not None}


def timeout_seconds(text: str) -> float:
    try:
        return positive_seconds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    try:
        with deadline(getattr(args, "timeout", None)):
            return _run(args)
    except Exception as exc:  # Nagios reads 1 and 2 as WARNING and CRITICAL: anything unexpected is UNKNOWN
        text = str(exc) if isinstance(exc, ZfstmError) else f"internal error {type(exc).__name__}: {exc}"
        line = f"ZFSTM UNKNOWN - {text}"
        print(json.dumps({"state": "UNKNOWN", "exit_code": 3, "summary": line}) if args.json else line)
        return int(State.UNKNOWN)


def _run(args: argparse.Namespace) -> int:
    config = load_from_args(args)
    backend = backend_for(config, args)
    now = now_from(args.now)
    overrides = _overrides(args)
    state_dir = state_dir_for(config)  # read, never written here: the ticks record the last look
    unfinished = {u.target: u.describe() for u in unfinished_rollbacks(state_dir)}
    findings: list[Finding] = []
    targets = select_targets(config, args.targets)
    listed = listing_of(backend, config, targets)  # one batch per pool; a dataset's error is raised by observe
    for target in targets:
        try:
            status = target_status(observe(backend, config, target, state_dir=state_dir, listed=listed), now)
            facts = facts_from_status(
                status, unfinished=unfinished.get(target.name), capacity=pool_capacity(backend, target.dataset)
            )
            findings.extend(evaluate(facts, attrs.evolve(target.check, **overrides), now))
            quiet = silence_finding(config, target, read_event(state_dir, target.name), listening_since(state_dir), now)
            findings.extend([quiet] if quiet is not None else [])
        except Exception as exc:  # this target is UNKNOWN with its cause; the others are still checked
            text = str(exc) if isinstance(exc, ZfstmError) else f"internal error {type(exc).__name__}: {exc}"
            findings.append(Finding(target.name, "read", State.UNKNOWN, None, f"cannot be read: {text}"))
    document = check_json(findings, now)
    if args.json:
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(document["summary"])
    return int(document["exit_code"])
