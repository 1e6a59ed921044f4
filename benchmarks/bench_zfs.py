"""Benchmark of the ZFS backend layer against per-name zfs commands, run inside the testbed.

    python3 -m zfstm.testbed run --out results -- python3 /src/benchmarks/bench_zfs.py

1. Destroy N (default 100, then 1,000) snapshots of one dataset: zfstm's one batched call (lzc backend, and the
   CLI backend's single ``zfs destroy fs@a,b,...``) vs one ``zfs destroy`` per snapshot, which is what sanoid does.
2. Snapshot 20 datasets of one pool: zfstm's one atomic call (all share one createtxg) vs 20 ``zfs snapshot``
   commands. Repeated and the median taken.

Prints a table and writes ``bench_zfs.json`` into $ZFSTM_TESTBED_OUT (or the current directory).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zfstm.zfs import DatasetName, SnapshotName, ZfsBackend, open_backend
from zfstm.zfs.cli import CliBackend

POOL = "tank"


def zfs(*args: str) -> None:
    """Run one zfs command, failing loudly."""
    subprocess.run(["zfs", *args], check=True, capture_output=True, text=True)


def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def make_snapshots(backend: ZfsBackend, dataset: DatasetName, count: int, prefix: str) -> list[SnapshotName]:
    """``count`` snapshots of ``dataset``, one call each (set-up, not measured).

    ZFS takes one snapshot per dataset per transaction group: neither lzc_snapshot nor a channel program can make
    two of one dataset at once (the program's second zfs.sync.snapshot fails with EAGAIN, seen in the testbed).
    """
    names = [dataset.snapshot(f"{prefix}-{i:05d}") for i in range(count)]
    for name in names:
        backend.snapshot([name])
    return names


def bench_destroy(fast: ZfsBackend, count: int) -> dict[str, Any]:
    """Destroy ``count`` snapshots: zfstm (auto backend), zfstm CLI backend, and one zfs destroy per snapshot."""
    dataset = DatasetName(f"{POOL}/bench-destroy-{count}")
    fast.create_filesystem(dataset)
    results: dict[str, Any] = {"count": count}

    began = time.perf_counter()
    names = make_snapshots(fast, dataset, count, "zfstm")
    results["create_one_by_one_seconds"] = time.perf_counter() - began
    report_holder: list[Any] = []
    results["zfstm_seconds"] = timed(lambda: report_holder.append(fast.destroy_snapshots(names)))
    print(f"zfstm ({fast.kind}) destroyed {count} in {results['zfstm_seconds']:.3f} s", flush=True)
    assert len(report_holder[0].destroyed) == count, report_holder[0].refused[:3]
    assert fast.list_snapshots(dataset) == []

    names = make_snapshots(fast, dataset, count, "cli")
    cli = CliBackend()
    report_holder.clear()
    results["zfstm_cli_seconds"] = timed(lambda: report_holder.append(cli.destroy_snapshots(names)))
    print(f"zfstm (cli) destroyed {count} in {results['zfstm_cli_seconds']:.3f} s", flush=True)
    assert len(report_holder[0].destroyed) == count
    assert fast.list_snapshots(dataset) == []

    names = make_snapshots(fast, dataset, count, "single")

    def one_by_one() -> None:
        for name in names:
            zfs("destroy", name.full)

    results["per_snapshot_seconds"] = timed(one_by_one)
    print(f"one zfs destroy each: {count} in {results['per_snapshot_seconds']:.3f} s", flush=True)
    assert fast.list_snapshots(dataset) == []
    results["ratio"] = results["per_snapshot_seconds"] / results["zfstm_seconds"]
    results["ratio_cli"] = results["per_snapshot_seconds"] / results["zfstm_cli_seconds"]
    fast.destroy_dataset(dataset, recursive=True)
    return results


def bench_snapshot(fast: ZfsBackend, datasets: int, rounds: int) -> dict[str, Any]:
    """Snapshot ``datasets`` filesystems: zfstm's one atomic call vs one zfs snapshot per dataset (median)."""
    parent = DatasetName(f"{POOL}/bench-snap")
    fast.create_filesystem(parent)
    children = [parent.child(f"d{i:02d}") for i in range(datasets)]
    for child in children:
        fast.create_filesystem(child)
    cli = CliBackend()
    zfstm_times, cli_times, single_times = [], [], []
    txgs_shared = True
    for r in range(rounds):
        batch = [c.snapshot(f"zfstm-{r}") for c in children]
        zfstm_times.append(timed(lambda batch=batch: fast.snapshot(batch)))  # type: ignore[misc]
        txgs = {fast.list_snapshots(c)[-1].createtxg for c in children}
        txgs_shared = txgs_shared and len(txgs) == 1
        batch = [c.snapshot(f"cli-{r}") for c in children]
        cli_times.append(timed(lambda batch=batch: cli.snapshot(batch)))  # type: ignore[misc]

        def one_by_one(r: int = r) -> None:
            for child in children:
                zfs("snapshot", child.snapshot(f"single-{r}").full)

        single_times.append(timed(one_by_one))
    fast.destroy_dataset(parent, recursive=True)
    zfstm_median = statistics.median(zfstm_times)
    cli_median = statistics.median(cli_times)
    single_median = statistics.median(single_times)
    return {
        "datasets": datasets,
        "rounds": rounds,
        "zfstm_seconds": zfstm_median,
        "zfstm_cli_seconds": cli_median,
        "per_dataset_seconds": single_median,
        "ratio": single_median / zfstm_median,
        "ratio_cli": single_median / cli_median,
        "one_createtxg": txgs_shared,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--snapshots",
        default="100,1000",
        help="comma-separated counts of snapshots to destroy; the target is judged at the largest (default 100,1000)",
    )
    parser.add_argument("--datasets", type=int, default=20, help="datasets to snapshot at once (default 20)")
    parser.add_argument("--rounds", type=int, default=5, help="repetitions of the snapshot benchmark (default 5)")
    args = parser.parse_args(argv)

    fast = open_backend("auto")
    started = time.perf_counter()
    snapshot = bench_snapshot(fast, args.datasets, args.rounds)
    print(f"snapshot: {json.dumps(snapshot)}", flush=True)
    counts = sorted(int(n) for n in args.snapshots.split(","))
    destroys = []
    for count in counts:
        destroys.append(bench_destroy(fast, count))
        print(f"destroy: {json.dumps(destroys[-1])}", flush=True)
    destroy = destroys[-1]
    zfs_version = subprocess.run(["zfs", "version"], capture_output=True, text=True, check=False).stdout.split()
    result = {
        "backend": fast.kind,
        "zfs_version": zfs_version[0] if zfs_version else "unknown",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "destroy": destroy,
        "destroy_by_count": destroys,
        "snapshot": snapshot,
        "total_seconds": time.perf_counter() - started,
    }

    d, s = destroy, snapshot
    rows = []
    for one in destroys:
        n = one["count"]
        rows += [
            (f"destroy {n} snapshots, zfstm ({fast.kind}, 1 call)", one["zfstm_seconds"], one["ratio"]),
            (f"destroy {n} snapshots, zfstm (cli, 1 zfs destroy)", one["zfstm_cli_seconds"], one["ratio_cli"]),
            (f"destroy {n} snapshots, 1 zfs destroy each", one["per_snapshot_seconds"], 1.0),
        ]
    rows += [
        (f"snapshot {s['datasets']} datasets, zfstm ({fast.kind}, 1 call)", s["zfstm_seconds"], s["ratio"]),
        (f"snapshot {s['datasets']} datasets, zfstm (cli, 1 zfs snapshot)", s["zfstm_cli_seconds"], s["ratio_cli"]),
        (f"snapshot {s['datasets']} datasets, 1 zfs snapshot each", s["per_dataset_seconds"], 1.0),
    ]
    print(f"{'case':<55} {'seconds':>9} {'speed-up':>9}")
    for label, seconds, ratio in rows:
        print(f"{label:<55} {seconds:>9.3f} {ratio:>8.1f}x")
    print(f"atomic snapshot shares one createtxg: {s['one_createtxg']}; total {result['total_seconds']:.0f} s")

    out = Path(os.environ.get("ZFSTM_TESTBED_OUT", "."))
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_zfs.json").write_text(json.dumps(result, indent=2) + "\n")
    ok = d["ratio"] >= 20 and s["ratio"] >= 10 and s["one_createtxg"]
    print("targets (destroy >= 20x, snapshot >= 10x, one createtxg):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
