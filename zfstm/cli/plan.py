"""`zfstm plan`: show which snapshots the retention policy keeps and destroys, and why. Never changes anything.

Live: ``zfstm plan tank/tm`` reads the dataset's snapshots through the ZFS backend. Offline: ``zfstm plan --input
FILE --now 2026-11-28T12:00:00Z`` reads ``NAME<TAB>ISO-8601 time`` lines (optional further ``key=value`` columns:
``managed=yes|no``, ``holds=tag1,tag2``), so a policy can be tried without ZFS. The policy flags are shared with
`zfstm prune`.
"""

from __future__ import annotations

import argparse
import io
import itertools
import sys
from array import array
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from zfstm.clock import SystemClock, parse_instant
from zfstm.errors import ConfigError, UsageError, ZfsError
from zfstm.naming import DEFAULT_PATTERN, NamingScheme, legacy_scheme
from zfstm.retention import RetentionSnapshot, classify, plan
from zfstm.retention.plan import Plan
from zfstm.retention.policy import Pick, Policy
from zfstm.retention.policy_text import parse_fraction, parse_policy_spec, policy_from_settings
from zfstm.retention.render import plan_json_chunks, plan_table_lines
from zfstm.zfs.names import SnapshotName, validate_snapshot_short

#: Flag -> policy setting key (see zfstm.retention.policy_text).
POLICY_FLAGS = {
    "tz": "tz",
    "keep_all": "keep_all",
    "hourly": "hourly",
    "daily": "daily",
    "weekly": "weekly",
    "monthly": "monthly",
    "pick": "pick",
    "min_keep": "min_keep",
    "week_start": "week_start",
    "clock_tolerance": "clock_tolerance",
    "max_destroy_share": "max_destroy_share",
    "breaker_min": "breaker_min",
    "space_above": "space_above",
    "space_per_run": "space_per_run",
    "space_basis": "space_basis",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="show what retention keeps and destroys, and why (changes nothing)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", nargs="?", help="dataset whose snapshots to plan (live, through ZFS)")
    parser.add_argument("--input", metavar="FILE", help="offline: NAME<TAB>ISO-8601-time lines ('-' for stdin)")
    parser.add_argument("--usage", metavar="FRACTION", help="offline: used share of the disk for the space tier")
    parser.add_argument("--destroy-only", action="store_true", help="table: list only the snapshots to destroy")
    add_policy_arguments(parser)
    parser.set_defaults(handler=run)


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags `plan` and `prune` share: now, output, naming, and the policy."""
    parser.add_argument("--now", metavar="TIME", help="plan as of this ISO-8601 instant (default: the clock)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--backend", default="auto", choices=["auto", "lzc", "cli"], help="ZFS backend (live)")
    group = parser.add_argument_group("naming")
    group.add_argument("--naming", default=DEFAULT_PATTERN, metavar="PATTERN", help="zfstm's own snapshot names")
    group.add_argument(
        "--adopt-legacy",
        metavar="ZONE",
        action="append",
        default=[],
        help="manage YYYYMMDD_HHMM[SUFFIX] names, written in ZONE (e.g. Europe/Berlin)",
    )
    group.add_argument(
        "--adopt", metavar="PATTERN@ZONE", action="append", default=[], help="manage names in another pattern"
    )
    policy = parser.add_argument_group("policy (LIMIT: a duration such as 24h or 31d, 'forever', or 'none')")
    policy.add_argument(
        "--policy", metavar="SPEC", help="all settings at once: hourly=24h,daily=31d,weekly=forever,..."
    )
    policy.add_argument("--tz", metavar="ZONE", help="IANA zone of the calendar buckets (default UTC)")
    policy.add_argument("--keep-all", metavar="LIMIT", help="keep every snapshot younger than LIMIT (default none)")
    policy.add_argument("--hourly", metavar="LIMIT", help="hourly representatives younger than LIMIT (default 24h)")
    policy.add_argument("--daily", metavar="LIMIT", help="daily representatives younger than LIMIT (default 31d)")
    policy.add_argument("--weekly", metavar="LIMIT", help="weekly representatives (default forever)")
    policy.add_argument("--monthly", metavar="LIMIT", help="monthly representatives (default none)")
    policy.add_argument("--pick", choices=["first", "last"], help="which snapshot represents a bucket (default last)")
    policy.add_argument("--min-keep", metavar="N", help="always keep the newest N managed snapshots (default 1)")
    policy.add_argument("--week-start", metavar="DAY", help="first day of a week (default monday)")
    policy.add_argument("--clock-tolerance", metavar="DURATION", help="future dates allowed (default 15m)")
    policy.add_argument("--max-destroy-share", metavar="FRACTION", help="circuit breaker share (default 50%%)")
    policy.add_argument("--breaker-min", metavar="N", help="circuit breaker ignores runs destroying fewer (10)")
    policy.add_argument("--space-above", metavar="FRACTION", help="space tier: act above this usage (e.g. 90%%)")
    policy.add_argument("--space-per-run", metavar="N", help="space tier: at most N per run (default 1)")
    policy.add_argument("--space-basis", choices=["pool", "dataset"], help="space tier: measure usage of")


def policy_from_args(args: argparse.Namespace) -> Policy:
    """The policy: ``--policy`` first, then individual flags over it."""
    base = parse_policy_spec(args.policy) if args.policy else Policy()
    settings = {key: getattr(args, flag) for flag, key in POLICY_FLAGS.items() if getattr(args, flag) is not None}
    return policy_from_settings(settings, base) if settings else base


def schemes_from_args(args: argparse.Namespace) -> tuple[NamingScheme, tuple[NamingScheme, ...]]:
    naming = NamingScheme(pattern=args.naming)
    adopted = [legacy_scheme(zone) for zone in args.adopt_legacy]
    for text in args.adopt:
        pattern, sep, zone = text.rpartition("@")
        if not sep:
            raise UsageError(f"--adopt {text!r}: write PATTERN@ZONE, e.g. snap-%Y%m%d-%H%M@Europe/Berlin")
        adopted.append(NamingScheme(pattern=pattern, zone=zone, suffix=True, adopted=True))
    return naming, tuple(adopted)


def now_from_args(args: argparse.Namespace) -> datetime:
    return parse_instant(args.now) if args.now else SystemClock().now()


def run(args: argparse.Namespace) -> int:
    policy = policy_from_args(args)
    naming, adopted = schemes_from_args(args)
    if args.input and args.dataset:
        raise UsageError("give a DATASET (live) or --input FILE (offline), not both")
    if args.input:
        if not args.now:
            raise UsageError("--input needs --now: an offline plan must say when it is made")
        usage = parse_fraction(args.usage, "--usage") if args.usage else None
        now = now_from_args(args)
        if args.input == "-":
            stdin = getattr(sys.stdin, "buffer", None) or io.BytesIO(sys.stdin.read().encode())  # a test's StringIO
            snapshots = read_offline(input_lines(stdin), naming=naming, adopted=adopted, source="stdin")
        else:
            with _open_input(Path(args.input)) as stream:
                snapshots = read_offline(input_lines(stream), naming=naming, adopted=adopted, source=args.input)
        groups = group_by_dataset(snapshots)
        del snapshots
        plans = [plan(group, now, policy, usage=usage, dataset=dataset) for dataset, group in groups.items()]
    elif args.dataset:
        plans = [live_plan(args, policy, naming, adopted)]
    else:
        raise UsageError("give a DATASET, or --input FILE --now TIME for an offline plan")
    print_plans(plans, as_json=args.json, destroy_only=args.destroy_only)
    return 0


def live_plan(
    args: argparse.Namespace, policy: Policy, naming: NamingScheme, adopted: tuple[NamingScheme, ...]
) -> Plan:
    """Read the dataset through ZFS and plan it (shared with `zfstm prune`)."""
    from zfstm.retention.apply import dataset_usage, read_snapshots
    from zfstm.zfs import DatasetName, open_backend

    backend = open_backend(args.backend)
    dataset = DatasetName(args.dataset)
    listing = read_snapshots(backend, dataset, naming=naming, adopted=adopted, pick_last=policy.pick is Pick.LAST)
    usage = dataset_usage(backend, dataset, policy.space.basis) if policy.space is not None else None
    return plan(listing.snapshots, now_from_args(args), policy, usage=usage, dataset=dataset.full)


def print_plans(plans: list[Plan], *, as_json: bool, destroy_only: bool = False) -> None:
    if as_json:
        sys.stdout.writelines(plan_json_chunks(plans))
        sys.stdout.write("\n")
    else:
        sys.stdout.writelines(plan_table_lines(plans, show_kept=not destroy_only))


def _open_input(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise UsageError(f"--input {path}: cannot read it ({exc.strerror})") from None


#: A line longer than this is no snapshot line (ZFS names are at most 255 bytes); refused without reading it whole.
MAX_LINE_BYTES = 64 * 1024
#: Problems listed in the error (the rest are counted).
MAX_PROBLEMS = 20


def input_lines(stream: BinaryIO) -> Iterator[str | None]:
    """The lines of a byte stream, split on ``\n`` only (``\r``, U+0085, U+2028 stay inside a line, so reported
    line numbers are the file's), one at a time; None for a line that is not UTF-8 or is too long."""
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the over-long line
                raw = stream.readline(MAX_LINE_BYTES)
            yield None
            continue
        try:
            yield raw.decode("utf-8").removesuffix("\n")
        except UnicodeDecodeError:
            yield None


def read_offline(
    lines: Iterable[str | None], *, naming: NamingScheme, adopted: tuple[NamingScheme, ...], source: str = "input"
) -> list[RetentionSnapshot]:
    """Parse ``NAME<TAB>TIME[<TAB>key=value...]`` lines; blank lines and ``#`` comments are skipped.

    Without a ``managed=`` column a snapshot is managed when its name is in zfstm's scheme or an adopted one. Names
    must be valid ZFS snapshot names (or short names without ``@``) and appear once: a name listed twice would be
    planned both kept and destroyed. A None line (see :func:`input_lines`) is not UTF-8 text.
    """
    snapshots: list[RetentionSnapshot] = []
    problems: list[tuple[int, str]] = []
    numbers = array("I")  # the line of each snapshot, to name duplicates (4 bytes a line)
    for number, line in enumerate(lines, start=1):
        if line is None:
            problems.append((number, f"not UTF-8 text, or longer than {MAX_LINE_BYTES} bytes"))
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            problems.append((number, "expected NAME<TAB>ISO-8601 time"))
            continue
        try:
            snapshots.append(_offline_snapshot(fields, naming, adopted))
        except (UsageError, ConfigError, ZfsError) as exc:
            problems.append((number, str(exc)))
            continue
        numbers.append(number)
    problems.extend(_duplicates(snapshots, numbers))
    if problems:
        problems.sort()
        listed = [f"{source}:{number}: {text}" for number, text in problems[:MAX_PROBLEMS]]
        more = f"\n  ... and {len(problems) - MAX_PROBLEMS} more" if len(problems) > MAX_PROBLEMS else ""
        raise UsageError("offline input is wrong:\n  " + "\n  ".join(listed) + more)
    return snapshots


def _offline_snapshot(fields: list[str], naming: NamingScheme, adopted: tuple[NamingScheme, ...]) -> RetentionSnapshot:
    name, time_text, *extra = (field.strip() for field in fields)
    _check_name(name)
    options = {}
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep or key not in {"managed", "holds"}:
            raise UsageError(f"column {item!r}: expected managed=yes|no or holds=tag,tag")
        options[key] = value
    holds = frozenset(tag for tag in options.get("holds", "").split(",") if tag) or NO_HOLDS
    snap = classify(name, parse_instant(time_text), holds=holds, naming=naming, adopted=adopted)
    if "managed" in options:
        return RetentionSnapshot(name=name, time=snap.time, managed=options["managed"] == "yes", holds=holds)
    return snap


#: One shared empty set: ``frozenset(<empty generator>)`` is a new 216-byte object per line (1M lines: 216 MB).
NO_HOLDS: frozenset[str] = frozenset()


def _duplicates(snapshots: list[RetentionSnapshot], numbers: array[int]) -> list[tuple[int, str]]:
    """Each later line of a name listed twice, naming the first: found by sorting the names (a pointer per line),
    which at 1M lines costs a third of what a set of names would."""
    names = sorted(snap.name for snap in snapshots)
    twice = {a for a, b in itertools.pairwise(names) if a == b}
    del names
    if not twice:
        return []
    first: dict[str, int] = {}
    found = []
    for snap, number in zip(snapshots, numbers, strict=True):
        if snap.name in twice:
            if snap.name in first:
                found.append((number, f"{snap.name} is listed again (first on line {first[snap.name]})"))
            else:
                first[snap.name] = number
    return found


def _check_name(name: str) -> None:
    """A full snapshot name must be one ZFS accepts; a short one (no ``@``) a valid snapshot component."""
    if not name:
        raise UsageError("the snapshot name is empty")
    if "@" in name:
        SnapshotName.parse(name)
    else:
        validate_snapshot_short(name)


def group_by_dataset(snapshots: list[RetentionSnapshot]) -> dict[str, list[RetentionSnapshot]]:
    """Full names plan per dataset; short names (no '@') form one group with an empty dataset."""
    groups: dict[str, list[RetentionSnapshot]] = {}
    for snap in snapshots:
        dataset = snap.name.rpartition("@")[0]
        groups.setdefault(dataset, []).append(snap)
    return groups
