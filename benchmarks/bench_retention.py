"""Benchmark of the retention planner: plan 1k / 10k / 100k / 1M snapshots on one core.

    python3 benchmarks/bench_retention.py [--sizes 1000,10000,100000,1000000] [--out results.json]

History: one snapshot every 15 minutes back from "now" (100k ≈ 2.9 years, 1M ≈ 28.5 years), every 1,000th foreign,
every 5,000th held, zone Europe/Berlin (DST), default policy (hourly 24h, daily 31d, weekly forever). Each size is
planned from shuffled input (the sort does real work) and from input in time order (as ZFS lists by createtxg).
Reports the best wall time of several runs, the process CPU time of that run, the cost of materialising per-snapshot
Decision objects on top, and the growth ratio t(10n)/t(n) next to the n log n expectation 10·log(10n)/log(n).
The garbage collector stays on (as users run it); the process is pinned to one CPU where the OS allows.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from zfstm.retention import Policy, RetentionSnapshot, plan

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
POLICY = Policy(zone="Europe/Berlin")


def history(count: int) -> list[RetentionSnapshot]:
    """``count`` snapshots 15 minutes apart, oldest first, with some foreign and held ones."""
    step = timedelta(minutes=15)
    start = NOW - step * count
    return [
        RetentionSnapshot(
            name=f"tank/tm@zfstm-{index:08d}",
            time=start + step * index,
            managed=index % 1000 != 999,
            holds=frozenset({"zfstm-known-good"}) if index % 5000 == 4999 else frozenset(),
        )
        for index in range(count)
    ]


def measure(snapshots: list[RetentionSnapshot], repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` wall time of plan(), its CPU time, and the extra cost of Plan.decisions."""
    best_wall, best_cpu, decisions = math.inf, math.inf, math.inf
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = plan(snapshots, NOW, POLICY)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if wall < best_wall:
            best_wall, best_cpu = wall, cpu
        start = time.perf_counter()
        _ = result.decisions
        decisions = min(decisions, time.perf_counter() - start)
    return {"wall_s": best_wall, "cpu_s": best_cpu, "decisions_s": decisions}


def pin_one_cpu() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--out", help="also write the results as JSON here")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    results: dict[str, Any] = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpu": pin_one_cpu(),
        "loadavg_before": os.getloadavg(),
        "sizes": {},
    }
    print(f"python {results['python']} on {results['machine']}, {results['cpu']}, load {results['loadavg_before']}")
    print(f"{'n':>9}  {'shuffled s':>10}  {'cpu s':>7}  {'in-order s':>10}  {'+decisions s':>12}  growth  n·log n")
    previous: float | None = None
    previous_size = 0
    for size in sizes:
        ordered = history(size)
        shuffled = list(ordered)
        random.Random(size).shuffle(shuffled)
        repeats = 3 if size >= 1_000_000 else 5
        mixed = measure(shuffled, repeats)
        in_order = measure(ordered, repeats)
        growth = mixed["wall_s"] / previous if previous else None
        expected = (size / previous_size) * math.log(size) / math.log(previous_size) if previous else None
        results["sizes"][str(size)] = {"shuffled": mixed, "in_order": in_order, "growth": growth, "nlogn": expected}
        print(
            f"{size:>9}  {mixed['wall_s']:>10.3f}  {mixed['cpu_s']:>7.3f}  {in_order['wall_s']:>10.3f}  "
            f"{mixed['decisions_s']:>12.3f}  {growth or 0:>6.1f}  {expected or 0:>7.1f}"
        )
        previous, previous_size = mixed["wall_s"], size
        del ordered, shuffled
    results["loadavg_after"] = os.getloadavg()
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
