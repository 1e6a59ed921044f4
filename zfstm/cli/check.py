"""`zfstm check [TARGET...] [--json] [--backup-age WARN,CRIT] ...`: a Nagios-style check of every target.

Exit code 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for a configuration it cannot read), and one summary line
with performance data; --json gives every finding. Checked per target: age of the last completed backup, Time
Machine's verification verdict, age of the last zfstm snapshot and of the known-good one, an unfinished rollback,
and the pool's capacity. Ages take durations such as 36h or 7d; capacity takes fractions or percentages (80%).
Read-only and lock-free, like `zfstm status`.
"""

from __future__ import annotations

import argparse
import json
import sys

from zfstm.cli.config import add_config_argument, backend_for, load_from_args, now_from, select_targets, state_dir_for
from zfstm.errors import ZfstmError
from zfstm.lifecycle.observe import observe
from zfstm.lifecycle.status import target_status
from zfstm.monitor import Finding, Limit, State, Thresholds, check_json, evaluate, facts_from_status
from zfstm.retention.durations import parse_duration
from zfstm.rollback.journal import unfinished_rollbacks
from zfstm.zfs import DatasetName, ZfsBackend


def _pair(text: str, parse: type[float] | None = None) -> tuple[float, float]:
    warn, sep, crit = text.partition(",")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r}: give WARNING,CRITICAL, e.g. 2d,7d or 80%,90%")
    return _one(warn.strip(), parse), _one(crit.strip(), parse)


def _one(text: str, parse: type[float] | None) -> float:
    try:
        if parse is float:
            return float(text[:-1]) / 100 if text.endswith("%") else float(text)
        return parse_duration(text).total_seconds()
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def age_limit(text: str) -> Limit:
    try:
        return Limit(*_pair(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def fraction_limit(text: str) -> Limit:
    try:
        return Limit(*_pair(text, float))
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
    d = Thresholds()
    parser.add_argument("--backup-age", type=age_limit, default=d.backup_age, metavar="WARN,CRIT",
                        help="age of the last completed backup (default 2d,7d)")  # fmt: skip
    parser.add_argument("--snapshot-age", type=age_limit, default=d.snapshot_age, metavar="WARN,CRIT",
                        help="age of the last zfstm snapshot (default 2d,7d)")  # fmt: skip
    parser.add_argument("--known-good-age", type=age_limit, default=d.known_good_age, metavar="WARN,CRIT",
                        help="age of the known-good snapshot (default 7d,14d)")  # fmt: skip
    parser.add_argument("--capacity", type=fraction_limit, default=d.capacity, metavar="WARN,CRIT",
                        help="pool capacity (default 80%%,90%%)")  # fmt: skip
    parser.add_argument("--verification-failed", choices=("warning", "critical"), default="critical",
                        help="state for a failed Time Machine verification (default critical)")  # fmt: skip
    parser.add_argument("--missing", choices=("ok", "warning", "critical", "unknown"), default="warning",
                        help="state when there is no backup/snapshot/known-good yet (default warning)")  # fmt: skip
    parser.set_defaults(handler=run)


def pool_capacity(backend: ZfsBackend, dataset: DatasetName) -> float | None:
    """used / (used + available) of the pool's root dataset (what `zfs list POOL` shows); None if unreadable."""
    try:
        values = backend.get_properties(DatasetName(dataset.pool), ["used", "available"])
        used, avail = int(values["used"] or ""), int(values["available"] or "")
    except (ZfstmError, ValueError, KeyError):
        return None
    return used / (used + avail) if used + avail > 0 else None


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except ZfstmError as exc:
        line = f"ZFSTM UNKNOWN - {exc}"
        print(json.dumps({"state": "UNKNOWN", "exit_code": 3, "summary": line}) if args.json else line)
        return int(State.UNKNOWN)


def _run(args: argparse.Namespace) -> int:
    config = load_from_args(args)
    backend = backend_for(config, args)
    now = now_from(args.now)
    thresholds = Thresholds(
        backup_age=args.backup_age,
        snapshot_age=args.snapshot_age,
        known_good_age=args.known_good_age,
        capacity=args.capacity,
        verification_failed=State[args.verification_failed.upper()],
        missing=State[args.missing.upper()],
    )
    unfinished = {u.target: u.describe() for u in unfinished_rollbacks(state_dir_for(config))}
    findings: list[Finding] = []
    for target in select_targets(config, args.targets):
        status = target_status(observe(backend, config, target, state_dir=None), now)
        facts = facts_from_status(
            status, unfinished=unfinished.get(target.name), capacity=pool_capacity(backend, target.dataset)
        )
        findings.extend(evaluate(facts, thresholds, now))
    document = check_json(findings, now)
    if args.json:
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(document["summary"])
    return int(document["exit_code"])
