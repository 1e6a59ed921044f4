"""Probe (testbed only): does the order and chunking of a snapshot destroy change the kernel's work?

    python3 -m zfstm.testbed run -- python3 /src/benchmarks/probe_destroy_order.py 300

Calls libzfs_core directly (no zfstm) on N fresh snapshots per case, and times a `zfs` process that does nothing
and a `zpool sync` of a quiet pool: the two fixed costs a one-`zfs destroy`-per-snapshot tool pays each time.
docs/benchmarks.md has a run's table.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable

import libzfs_core as lzc

POOL = "tank"

Plan = Callable[[list[bytes]], list[list[bytes]]]


def make(dataset: str, count: int) -> tuple[list[bytes], float]:
    """``count`` snapshots of a new dataset, one transaction group each; the seconds it took."""
    subprocess.run(["zfs", "create", dataset], check=True)
    names = [f"{dataset}@s{i:05d}".encode() for i in range(count)]
    started = time.perf_counter()
    for name in names:
        lzc.lzc_snapshot([name])
    return names, time.perf_counter() - started


def average_ms(argv: list[str], times: int = 20) -> float:
    started = time.perf_counter()
    for _ in range(times):
        subprocess.run(argv, check=True, capture_output=True)
    return round((time.perf_counter() - started) / times * 1000, 1)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    tenth = max(1, count // 10)
    cases: list[tuple[str, Plan]] = [
        ("one call", lambda ns: [ns]),
        ("10 chunks oldest first", lambda ns: [ns[i : i + tenth] for i in range(0, count, tenth)]),
        ("10 chunks newest first", lambda ns: [ns[::-1][i : i + tenth] for i in range(0, count, tenth)]),
        ("one call per snapshot, oldest first", lambda ns: [[n] for n in ns]),
        ("one call per snapshot, newest first", lambda ns: [[n] for n in ns[::-1]]),
    ]
    results: dict[str, object] = {}
    for index, (label, plan) in enumerate(cases):
        names, create = make(f"{POOL}/probe{index}", count)
        started = time.perf_counter()
        for chunk in plan(names):
            lzc.lzc_destroy_snaps(chunk, False)
        took = time.perf_counter() - started
        results[label] = {
            "create_s": round(create, 2),
            "destroy_s": round(took, 2),
            "ms_each": round(took / count * 1e3, 1),
        }
        print(label, results[label], flush=True)
    results["zfs process doing nothing (ms)"] = average_ms(["zfs", "list", "-H", "-o", "name", POOL])
    results["zpool sync of a quiet pool (ms)"] = average_ms(["zpool", "sync", POOL])
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
