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
import os
import sys
from array import array
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import attrs

from zfstm.cli.config import add_config_argument, backend_for, run_dir_for, state_dir_for
from zfstm.clock import SystemClock, parse_instant
from zfstm.config.load import config_path, load_config
from zfstm.config.model import CONFIG_ENV, BackendChoice, Config, Target
from zfstm.errors import ConfigError, UsageError, ZfsError
from zfstm.lifecycle.outcome import TickReport
from zfstm.lifecycle.tick import run_tick
from zfstm.naming import DEFAULT_PATTERN, NamingScheme, legacy_scheme
from zfstm.retention import RetentionSnapshot, classify, plan
from zfstm.retention.plan import Plan
from zfstm.retention.policy import Policy
from zfstm.retention.policy_text import parse_fraction, parse_policy_spec, policy_from_settings
from zfstm.retention.render import plan_json_chunks, plan_table_lines
from zfstm.zfs.names import DatasetName, SnapshotName, validate_snapshot_short

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
    parser.add_argument(
        "targets", nargs="*", metavar="TARGET", help="targets or datasets to plan live, through ZFS (default: all)"
    )
    parser.add_argument("--input", metavar="FILE", help="offline: NAME<TAB>ISO-8601-time lines ('-' for stdin)")
    parser.add_argument("--usage", metavar="FRACTION", help="offline: used share of the disk for the space tier")
    parser.add_argument("--destroy-only", action="store_true", help="table: list only the snapshots to destroy")
    add_policy_arguments(parser)
    parser.set_defaults(handler=run)


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags `plan` and `prune` share: now, output, naming, and the policy."""
    parser.add_argument("--now", metavar="TIME", help="plan as of this ISO-8601 instant (default: the clock)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--backend", choices=["auto", "lzc", "cli"], help="ZFS backend (live; default: the configuration's, else auto)"
    )
    add_config_argument(parser)
    group = parser.add_argument_group("naming (given here, replaces the configuration's for this run)")
    group.add_argument(
        "--naming", metavar="PATTERN", help=f"zfstm's own snapshot names (default {DEFAULT_PATTERN.replace('%', '%%')})"
    )
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
    return _policy_over(args, policy_settings(args), Policy())


def policy_settings(args: argparse.Namespace) -> dict[str, str]:
    """The policy settings this run's flags give (empty when none)."""
    return {key: getattr(args, flag) for flag, key in POLICY_FLAGS.items() if getattr(args, flag) is not None}


def schemes_from_args(args: argparse.Namespace) -> tuple[NamingScheme, tuple[NamingScheme, ...]]:
    naming = NamingScheme(pattern=args.naming or DEFAULT_PATTERN)
    adopted = [legacy_scheme(zone) for zone in args.adopt_legacy]
    for text in args.adopt:
        pattern, sep, zone = text.rpartition("@")
        if not sep:
            raise UsageError(f"--adopt {text!r}: write PATTERN@ZONE, e.g. snap-%Y%m%d-%H%M@Europe/Berlin")
        adopted.append(NamingScheme(pattern=pattern, zone=zone, suffix=True, adopted=True))
    return naming, tuple(adopted)


def configured_for_run(args: argparse.Namespace) -> tuple[Config, list[Target]]:
    """The configuration with this run's flags over it, and the targets ``args.targets`` names (all when none).

    The configuration is ``--config``, else ``$ZFSTM_CONFIG``, else the platform default when it exists; without
    any, an empty one. A name the configuration does not know, but which is a dataset, becomes a target of its
    own with the defaults (so ``zfstm prune tank/tm --hourly 24h`` works without a configuration file). Flags then
    replace, for this run only: the retention settings of every chosen target (``--policy`` first, then each flag
    over it), the naming (``--naming``; ``--adopt``/``--adopt-legacy`` replace the adopted list) and the backend.
    """
    path = config_path(args.config, os.environ)
    if args.config or os.environ.get(CONFIG_ENV) or path.exists():
        config = load_config(path)
    else:
        config = Config(source="(no configuration file)", targets=())
    chosen: list[Target] = []
    for name in args.targets:
        target = config.target(name) or (Target(name, DatasetName(name)) if "@" not in name else None)
        if target is None:
            raise UsageError(f"{name!r} is neither a target of {config.source} nor a dataset")
        if target not in chosen:
            chosen.append(target)
    if not args.targets:
        chosen = list(config.targets)
        if not chosen:
            raise UsageError(f"give a DATASET or TARGET (no targets in {config.source})")
    settings = policy_settings(args)
    if args.policy or settings:
        chosen = [attrs.evolve(t, retention=_policy_over(args, settings, t.retention)) for t in chosen]
    naming = config.naming
    if args.naming:
        naming = attrs.evolve(naming, scheme=NamingScheme(pattern=args.naming))
    if args.adopt or args.adopt_legacy:
        naming = attrs.evolve(naming, adopted=schemes_from_args(args)[1])
    backend = config.backend if args.backend is None else attrs.evolve(config.backend, kind=BackendChoice(args.backend))
    return attrs.evolve(config, naming=naming, backend=backend), chosen


def _policy_over(args: argparse.Namespace, settings: dict[str, str], base: Policy) -> Policy:
    base = parse_policy_spec(args.policy) if args.policy else base
    return policy_from_settings(settings, base) if settings else base


def now_from_args(args: argparse.Namespace) -> datetime:
    return parse_instant(args.now) if args.now else SystemClock().now()


def run(args: argparse.Namespace) -> int:
    if args.input and args.targets:
        raise UsageError("give a DATASET (live) or --input FILE (offline), not both")
    if args.input:
        policy = policy_from_args(args)
        naming, adopted = schemes_from_args(args)
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
        # popped, so that each group's list is the planner's to drop once it has sorted it (a million lines: 8 MB)
        plans = [plan(groups.pop(dataset), now, policy, usage=usage, dataset=dataset) for dataset in list(groups)]
    else:
        report = live_plans(args)
        say_failures("plan", report)
        print_plans(
            [upkeep.retention for upkeep in report.plan.upkeep], as_json=args.json, destroy_only=args.destroy_only
        )
        return report.exit_code
    print_plans(plans, as_json=args.json, destroy_only=args.destroy_only)
    return 0


def live_plans(args: argparse.Namespace) -> TickReport:
    """What a tick would decide for the named targets now, over their snapshots as they are: the same path as
    `zfstm prune --dry-run`, without locks (a plan changes nothing, so it waits for nobody)."""
    config, targets = configured_for_run(args)
    return run_tick(
        config,
        targets,
        backend_for(config, args),
        now_from_args(args),
        run_dir=run_dir_for(config),
        state_dir=state_dir_for(config),
        dry_run=True,
        snapshot=False,
        locking=False,
    )


def say_failures(verb: str, report: TickReport) -> None:
    """One stderr line per target that could not be done (the others were), and per busy target."""
    for failure in report.failures:
        print(f"zfstm {verb}: {failure.target}: {failure.step} failed: {failure.message}", file=sys.stderr)
    for failure in report.refusals:
        print(f"zfstm {verb}: {failure.message}", file=sys.stderr)
    for name in report.busy:
        print(f"zfstm {verb}: {name}: busy: another zfstm run holds its lock; not done", file=sys.stderr)


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
