"""Benchmark: one ``zfstm run`` tick over many targets of one pool against sanoid's prune (testbed only).

    python3 -m zfstm.testbed run --out results --timeout 3600 -- python3 /src/benchmarks/bench_scale.py

Builds ``--targets`` filesystems under tank/bench with ``--snapshots`` snapshots each, named as sanoid names them
(``autosnap_YYYY-MM-DD_HH:MM:SS_hourly`` / ``_daily``) and adopted by zfstm's configuration, so both tools see the
very same snapshot set. Creation times are real: the guest's clock is set to each snapshot's time before the one
atomic snapshot call that takes it on every target (ZFS's ``creation`` cannot be set, and sanoid reads only it);
about a quarter are hourly (every hour but midnight, the last few days), the rest daily at midnight, back about a
year at 500 per target. The clock is then set to the tick's "now" before each tool runs, so both see the same ages.

The policies prune the same two snapshots of every target, the oldest hourly and the oldest daily (checked: the
remaining names must be equal): sanoid ``hourly = H-1``, ``daily = D-1`` (its counts of each type); zfstm
``pick = "first"``, ``hourly`` and ``daily`` age limits half an hour / half a day beyond the second-oldest one.

After building, the pool is checkpointed; each measured run is followed by ``zpool export`` + ``zpool import
--rewind-to-checkpoint``, so every run starts from the same pool. Measured: wall time of ``zfstm run`` (installed,
byte-compiled, backend ``auto``) and of ``sanoid --prune-snapshots`` (Debian's package), and every ``zfs`` process
each starts, counted by a ``zfs`` wrapper first on PATH (for both tools alike: a ``sh`` that logs and execs).
``--subsets`` adds zfstm ticks over only the first N targets of the same pool (the growth in targets);
``--probes`` times single listings of the whole tree (what one recursive listing per pool would cost).
Writes ``bench_scale-<targets>x<snapshots>.json`` into $ZFSTM_TESTBED_OUT after every step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.installed import install_zfstm

POOL = "tank"
ROOT = f"{POOL}/bench"
WRAP_DIR = Path("/tmp/zfs-wrap")
CALL_LOG = Path("/tmp/zfs-calls.log")
CONFIG = Path("/tmp/bench-scale.toml")
#: zfstm's remembered listings (state_dir below; zfstm.snapshots.memory)
MEMORY = Path("/tmp/zfstm-state/listings.json")
SANOID_CONF_DIR = Path("/tmp/sanoid-conf")
#: zfs subcommands that only read (listings, property gets, holds)
LISTING = frozenset({"list", "get", "holds"})


def sh(*argv: str) -> str:
    return subprocess.run(list(argv), check=True, capture_output=True, text=True).stdout


def set_clock(instant: datetime) -> None:
    time.clock_settime(time.CLOCK_REALTIME, instant.timestamp())


def slots(now: datetime, per_target: int) -> list[tuple[datetime, str]]:
    """(time, kind) of one target's snapshots, oldest first: hourly ones every hour but midnight, daily at 00:00."""
    hourly = max(2, round(per_target * 0.27))
    daily = per_target - hourly
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    times = [(midnight - timedelta(days=d), "daily") for d in range(daily)]
    hour = now.replace(minute=0, second=0, microsecond=0)
    while hourly:
        if hour.hour != 0:
            times.append((hour, "hourly"))
            hourly -= 1
        hour -= timedelta(hours=1)
    return sorted(times)


def short_name(instant: datetime, kind: str) -> str:
    return f"autosnap_{instant:%Y-%m-%d_%H:%M:%S}_{kind}"


def build(targets: int, per_target: int, now: datetime) -> dict[str, Any]:
    """The tree: ``targets`` filesystems (lzc_create, then one ``zfs mount -a``), one atomic snapshot call per slot."""
    import libzfs_core as lzc  # the testbed's pyzfs

    began = time.perf_counter()
    sh("zfs", "create", ROOT)
    names = [f"{ROOT}/t{i:04d}" for i in range(targets)]
    for name in names:
        lzc.lzc_create(name.encode())
    sh("zfs", "mount", "-a")
    created = time.perf_counter() - began
    clock = time.monotonic()
    for index, (instant, kind) in enumerate(slots(now, per_target)):
        if index % 50 == 0:
            print(f"slot {index} of {per_target}, {targets} targets, {time.monotonic() - clock:.0f} s", flush=True)
        set_clock(instant)
        short = short_name(instant, kind)
        lzc.lzc_snapshot([f"{name}@{short}".encode() for name in names])
    set_clock(now)
    return {"datasets_seconds": created, "snapshots_seconds": time.monotonic() - clock}


def checkpoint() -> None:
    sh("zpool", "checkpoint", POOL)


def rewind() -> float:
    """Back to the checkpoint (export, import rewound), then a new checkpoint for the next run."""
    began = time.perf_counter()
    sh("zpool", "export", POOL)
    sh("zpool", "import", "--rewind-to-checkpoint", POOL)
    checkpoint()
    return time.perf_counter() - began


def remaining() -> set[str]:
    return set(sh("zfs", "list", "-H", "-t", "snapshot", "-o", "name", "-r", ROOT).split())


def install_wrapper() -> None:
    """A ``zfs`` first on PATH that logs its arguments and execs the real one (for zfstm and sanoid alike)."""
    real = shutil.which("zfs")
    assert real is not None
    WRAP_DIR.mkdir(exist_ok=True)
    wrapper = WRAP_DIR / "zfs"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >>{CALL_LOG}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)


def calls() -> dict[str, Any]:
    lines = CALL_LOG.read_text().splitlines() if CALL_LOG.exists() else []
    verbs = Counter(line.split()[0] if line.split() else "" for line in lines)
    return {
        "zfs_processes": len(lines),
        "listing_processes": sum(n for verb, n in verbs.items() if verb in LISTING),
        "by_subcommand": dict(verbs),
    }


def timed_run(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run one tool with the wrapper first on PATH; its wall time, exit status and zfs processes."""
    CALL_LOG.unlink(missing_ok=True)
    env = {**env, "PATH": f"{WRAP_DIR}:{env.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"}
    began = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env, cwd="/")
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", flush=True)
    return {"seconds": seconds, "exit": done.returncode, **calls()}


def zfstm_config(targets: int, per_target: int, now: datetime, *, keep_all: bool = False) -> str:
    """Targets t0000.. with sanoid's names adopted; tiers that prune exactly the oldest hourly and oldest daily
    (``keep_all``: a policy that keeps everything, for a tick that only reads and remembers)."""
    times = slots(now, per_target)
    hourly = [t for t, kind in times if kind == "hourly"]
    daily = [t for t, kind in times if kind == "daily"]
    hourly_age = now - hourly[1] + timedelta(minutes=30)
    daily_age = now - daily[1] + timedelta(hours=12)
    minutes = int(hourly_age.total_seconds() // 60)
    hours = int(daily_age.total_seconds() // 3600)
    lines = [
        'run_dir = "/tmp/zfstm-run"',
        'state_dir = "/tmp/zfstm-state"',
        '[backend]\nkind = "auto"\nremember = "1d"',
        '[naming]\n[[naming.adopt]]\npattern = "autosnap_%Y-%m-%d_%H:%M:%S"\nzone = "UTC"\nsuffix = true',
        '[detector]\nmax_interval = "none"',
        f'[retention]\nkeep_all = "{"3650d" if keep_all else "none"}"\nhourly = "{minutes}m"\ndaily = "{hours}h"\n'
        'weekly = "none"\nmonthly = "none"\npick = "first"\ntime_zone = "UTC"',
        '[file_server]\nkind = "none"',
    ]
    lines += [f'[[targets]]\nname = "t{i:04d}"\ndataset = "{ROOT}/t{i:04d}"' for i in range(targets)]
    return "\n".join(lines) + "\n"


def sanoid_config(per_target: int, now: datetime) -> str:
    """sanoid's counts: one fewer of each type than there are, so it prunes the oldest hourly and daily."""
    times = slots(now, per_target)
    hourly = sum(1 for _, kind in times if kind == "hourly")
    return (
        f"[{ROOT}]\n\tuse_template = bench\n\trecursive = yes\n\tprocess_children_only = yes\n\n"
        f"[template_bench]\n\tfrequently = 0\n\thourly = {hourly - 1}\n\tdaily = {len(times) - hourly - 1}\n"
        "\tweekly = 0\n\tmonthly = 0\n\tyearly = 0\n\tautosnap = no\n\tautoprune = yes\n"
    )


def zfstm_tick(
    env: dict[str, str],
    targets: int,
    per_target: int,
    now: datetime,
    *,
    remembered: bool = False,
    keep_all: bool = False,
) -> dict[str, Any]:
    """One ``zfstm run``; without ``remembered`` its memory of earlier listings is removed first (a cold tick)."""
    if not remembered:
        MEMORY.unlink(missing_ok=True)
    CONFIG.write_text(zfstm_config(targets, per_target, now, keep_all=keep_all))
    set_clock(now)
    argv = [sys.executable, "-m", "zfstm.cli.main", "run", "--config", str(CONFIG)]
    result = timed_run(argv, env)
    return {"targets": targets, **result}


def profiled_tick(env: dict[str, str], targets: int, per_target: int, now: datetime, out: Path) -> dict[str, Any]:
    """The same tick under cProfile (slower; for where the time goes): the top functions by own and total time."""
    import pstats

    stats_file = out / f"zfstm-tick-{targets}.pstats"
    CONFIG.write_text(zfstm_config(targets, per_target, now))
    set_clock(now)
    argv = [sys.executable, "-m", "cProfile", "-o", str(stats_file), "-m", "zfstm.cli.main", "run", "--config",
            str(CONFIG)]  # fmt: skip
    result = timed_run(argv, env)
    stats = pstats.Stats(str(stats_file))
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:25]  # type: ignore[attr-defined]
    result["top_own_time"] = [f"{value[2]:.2f} s {key[0]}:{key[1]} {key[2]}" for key, value in rows]
    cumulative = sorted(stats.stats.items(), key=lambda item: item[1][3], reverse=True)[:40]  # type: ignore[attr-defined]
    result["top_cumulative"] = [f"{value[3]:.2f} s {key[0]}:{key[1]} {key[2]}" for key, value in cumulative]
    for line in result["top_cumulative"]:
        print("profile", line, flush=True)
    return {"targets": targets, **result}


def sanoid_prune(env: dict[str, str], per_target: int, now: datetime) -> dict[str, Any]:
    SANOID_CONF_DIR.mkdir(exist_ok=True)
    (SANOID_CONF_DIR / "sanoid.conf").write_text(sanoid_config(per_target, now))
    shutil.rmtree("/tmp/sanoid-cache", ignore_errors=True)
    set_clock(now)
    argv = ["sanoid", "--configdir", str(SANOID_CONF_DIR), "--cache-dir", "/tmp/sanoid-cache",
            "--run-dir", "/tmp/sanoid-run", "--prune-snapshots", "--verbose"]  # fmt: skip
    return timed_run(argv, env)


PROBES = {
    "fast: name,createtxg (one recursive zfs list)": ["zfs", "list", "-H", "-p", "-t", "snapshot", "-o",
                                                      "name,createtxg", "-s", "createtxg", "-r", ROOT],
    "sanoid's: zfs get -Hrpt snapshot creation (whole pool)": ["zfs", "get", "-Hrpt", "snapshot", "creation"],
    "zfstm's columns: +creation,used,referenced,userrefs (recursive)": [
        "zfs", "list", "-H", "-p", "-t", "snapshot", "-o", "name,guid,createtxg,creation,used,referenced,userrefs",
        "-s", "createtxg", "-r", ROOT],
    "zfstm's one listing: -t snapshot,bookmark, slow columns + zfstm:* columns (recursive)": [
        "zfs", "list", "-H", "-p", "-t", "snapshot,bookmark", "-o",
        "name,guid,createtxg,creation,used,referenced,userrefs,zfstm:managed,zfstm:version,zfstm:trigger,"
        "zfstm:activity,zfstm:tm-completed,zfstm:tm-verification,zfstm:tm-verification-date,zfstm:stands-until",
        "-s", "createtxg", "-r", ROOT],
    "zfstm's user properties: zfs get -r zfstm:* (recursive)": [
        "zfs", "get", "-H", "-p", "-t", "snapshot", "-r", "-o", "name,property,value,source",
        "zfstm:managed,zfstm:version,zfstm:trigger,zfstm:activity,zfstm:tm-completed,zfstm:tm-verification,"
        "zfstm:tm-verification-date,zfstm:stands-until", ROOT],
}  # fmt: skip


def probe() -> dict[str, float]:
    out = {}
    for label, argv in PROBES.items():
        began = time.perf_counter()
        sh(*argv)
        out[label] = time.perf_counter() - began
        print(f"probe {label}: {out[label]:.1f} s", flush=True)
    return out


def others(
    args: argparse.Namespace,
    env: dict[str, str],
    now: datetime,
    before: set[str],
    after_zfstm: set[str],
    tick: dict[str, Any],
    result: dict[str, Any],
    save: Callable[[], None],
) -> None:
    """sanoid's prune, the listing probes and the zfstm ticks over subsets, each from the checkpoint."""
    if not args.no_sanoid:
        result["rewind_seconds"] = rewind()
        prune = sanoid_prune(env, args.snapshots, now)
        after_sanoid = remaining()
        prune["destroyed"] = len(before - after_sanoid)
        prune["same_remaining_as_zfstm"] = after_sanoid == after_zfstm
        result["sanoid_prune"] = prune
        result["ratio"] = prune["seconds"] / tick["seconds"]
        print(f"sanoid prune: {json.dumps(prune)}; zfstm {result['ratio']:.1f}x faster", flush=True)
        save()
    if args.probes:
        result["probes"] = probe()
        save()
    if not args.no_sanoid:
        subsets(args, env, now, before, result, save, rewind_first=True)


def subsets(
    args: argparse.Namespace,
    env: dict[str, str],
    now: datetime,
    before: set[str],
    result: dict[str, Any],
    save: Callable[[], None],
    *,
    rewind_first: bool,
) -> None:
    """zfstm ticks over the first N targets only, each from the checkpoint."""
    result["subsets"] = []
    for count in sorted(int(n) for n in args.subsets.split(",") if n):
        if rewind_first:
            rewind()
        one = zfstm_tick(env, count, args.snapshots, now)
        one["destroyed"] = len(before - remaining())
        result["subsets"].append(one)
        print(f"zfstm run over {count} targets: {json.dumps(one)}", flush=True)
        save()
        if not rewind_first:
            rewind()


def warm(
    args: argparse.Namespace,
    env: dict[str, str],
    now: datetime,
    before: set[str],
    after_zfstm: set[str],
    result: dict[str, Any],
    save: Callable[[], None],
) -> None:
    """The same prune from remembered listings: from the checkpoint, a tick that keeps everything reads and remembers
    every dataset (no snapshot changes), then, a minute later, the measured tick with the pruning policy. What a
    tick costs when the snapshots of its targets did not change since the last one (the nightly tick where the
    oldest daily of every target ages out)."""
    rewind()
    warmup = zfstm_tick(env, args.targets, args.snapshots, now, keep_all=True)
    warmup["destroyed"] = len(before - remaining())
    warmup["remembered_bytes"] = MEMORY.stat().st_size if MEMORY.exists() else 0
    result["zfstm_warmup"] = warmup
    print(f"zfstm run, keeping everything (remembers): {json.dumps(warmup)}", flush=True)
    tick = zfstm_tick(env, args.targets, args.snapshots, now + timedelta(minutes=1), remembered=True)
    after = remaining()
    tick["destroyed"] = len(before - after)
    tick["same_remaining_as_cold_tick"] = after == after_zfstm
    result["zfstm_remembered"] = tick
    if "sanoid_prune" in result:
        result["ratio_remembered"] = result["sanoid_prune"]["seconds"] / tick["seconds"]
    print(f"zfstm run from remembered listings: {json.dumps(tick)}", flush=True)
    save()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--targets", type=int, default=100, help="filesystems in the pool (default 100)")
    parser.add_argument("--snapshots", type=int, default=500, help="snapshots per target (default 500)")
    parser.add_argument("--subsets", default="", help="also tick over only the first N targets (e.g. 10)")
    parser.add_argument("--no-sanoid", action="store_true", help="skip sanoid's prune; the subsets' ticks come first")
    parser.add_argument("--probes", action="store_true", help="time single listings of the whole tree")
    parser.add_argument("--profile", action="store_true", help="then one more tick (all targets) under cProfile")
    args = parser.parse_args(argv)

    out = Path(os.environ.get("ZFSTM_TESTBED_OUT", "."))
    out.mkdir(parents=True, exist_ok=True)
    report = out / f"bench_scale-{args.targets}x{args.snapshots}.json"
    result: dict[str, Any] = {
        "targets": args.targets,
        "snapshots_per_target": args.snapshots,
        "zfs_version": sh("zfs", "version").split()[0],
        "sanoid": sh("dpkg-query", "-W", "-f", "${Version}", "sanoid"),
        "kernel": platform.release(),
    }

    def save() -> None:
        report.write_text(json.dumps(result, indent=2) + "\n")

    env = install_zfstm()
    install_wrapper()
    now = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
    result["now"] = now.isoformat()
    result["build"] = build(args.targets, args.snapshots, now)
    before = remaining()
    result["snapshots_total"] = len(before)
    print(f"built {len(before)} snapshots: {json.dumps(result['build'])}", flush=True)
    checkpoint()
    save()
    if args.no_sanoid:  # the small ticks first: the largest may not finish in the VM's time
        subsets(args, env, now, before, result, save, rewind_first=False)

    tick = zfstm_tick(env, args.targets, args.snapshots, now)
    after_zfstm = remaining()
    tick["destroyed"] = len(before - after_zfstm)
    result["zfstm"] = tick
    print(f"zfstm run: {json.dumps(tick)}", flush=True)
    save()

    try:
        others(args, env, now, before, after_zfstm, tick, result, save)
        warm(args, env, now, before, after_zfstm, result, save)
    except Exception as exc:  # keep what was measured
        traceback.print_exc()
        result["error"] = repr(exc)
        save()
    if args.profile:
        rewind()
        result["profiled"] = profiled_tick(env, args.targets, args.snapshots, now, out)
        save()
    per_pool = tick["listing_processes"]
    print(f"zfstm tick over {args.targets} targets: {tick['seconds']:.1f} s, {per_pool} zfs listing processes")
    if "ratio" in result:
        print(f"sanoid prune: {result['sanoid_prune']['seconds']:.1f} s: zfstm {result['ratio']:.1f}x")
    if "ratio_remembered" in result:
        seconds = result["zfstm_remembered"]["seconds"]
        print(f"from remembered listings: {seconds:.1f} s: {result['ratio_remembered']:.1f}x")
    if "ratio" not in result:
        print("targets: listings per pool", "met" if per_pool <= 3 else "NOT met", "(ratio to sanoid not measured)")
        return 0 if per_pool <= 3 else 1
    best = max(result["ratio"], result.get("ratio_remembered", 0.0))
    ok = per_pool <= 3 and best >= 10
    print("targets (>= 10x sanoid cold or remembered, <= 3 listings per pool):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
