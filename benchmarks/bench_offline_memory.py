"""Peak memory of an offline plan (`zfstm plan --input FILE --now TIME`) against the size of its input.

    python3 benchmarks/bench_offline_memory.py [--sizes 100000,1000000] [--gigabyte] [--outputs table,json]
        [--out results.json]

Each size is one file of ``NAME<TAB>ISO-8601`` lines (one dataset, a snapshot every 15 minutes back from NOW, names
in zfstm's scheme, as `zfs list -H -p -o name,creation` gives them once converted), planned by the real command in
a fresh subprocess with the table or the JSON written to /dev/null. The peak resident set size of that subprocess
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` after it ended, each run alone in a new process that measures
only its one child) is divided by the input's size. The same command on an empty input gives the interpreter's own
baseline, shown beside it. ``--gigabyte`` adds a run on 1 GB of valid input (about 19M lines; ~4 GB of RAM, 25
minutes on a busy 2-CPU host).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
STEP = timedelta(minutes=15)
GIGABYTE = 10**9


def write_input(path: Path, count: int) -> int:
    """``count`` lines, oldest first; their size in bytes."""
    start = NOW - STEP * count
    with path.open("w", encoding="utf-8") as out:
        for index in range(count):
            when = start + STEP * index
            out.write(f"tank/tm@zfstm-{when:%Y%m%dT%H%M%SZ}\t{when:%Y-%m-%dT%H:%M:%SZ}\n")
    return path.stat().st_size


def lines_for(size: int) -> int:
    return size // len(f"tank/tm@zfstm-{NOW:%Y%m%dT%H%M%SZ}\t{NOW:%Y-%m-%dT%H:%M:%SZ}\n")


MEASURE = """
import resource, subprocess, sys, time
t = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t)
"""


def peak_rss(path: Path, *, as_json: bool) -> dict[str, Any]:
    """Run the plan in a child of a fresh process; its exit status, peak RSS (bytes) and wall time."""
    command = [sys.executable, "-m", "zfstm.cli.main", "plan", "--input", str(path), "--now", f"{NOW:%Y-%m-%dT%H:%MZ}"]
    command += ["--json"] if as_json else []
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True)
    code, kib, seconds = done.stdout.split()
    return {"exit": int(code), "peak_rss": int(kib) * 1024, "seconds": float(seconds)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="line counts, comma-separated")
    parser.add_argument("--gigabyte", action="store_true", help="also plan 1 GB of valid input")
    parser.add_argument("--outputs", default="table,json", help="which outputs to plan each input for")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    counts = [int(size) for size in args.sizes.split(",") if size]
    if args.gigabyte:
        counts.append(lines_for(GIGABYTE))
    os.environ.setdefault("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="zfstm-bench-") as tmp:
        empty = Path(tmp) / "empty.txt"
        empty.write_text("")
        baseline = peak_rss(empty, as_json=False)["peak_rss"]
        print(f"baseline (empty input): {baseline / 2**20:.0f} MiB")
        header = ("lines", "input", "output", "peak RSS", "ratio", "above base", "time")
        print("  ".join(f"{word:>{width}}" for word, width in zip(header, (10, 9, 6, 9, 5, 10, 7), strict=True)))
        for count in counts:
            path = Path(tmp) / f"input-{count}.txt"
            started = time.perf_counter()
            size = write_input(path, count)
            written = time.perf_counter() - started
            for as_json in [output == "json" for output in args.outputs.split(",")]:
                run = peak_rss(path, as_json=as_json)
                row = {
                    "lines": count,
                    "input_bytes": size,
                    "output": "json" if as_json else "table",
                    "baseline_rss": baseline,
                    "ratio": run["peak_rss"] / size,
                    "ratio_above_baseline": (run["peak_rss"] - baseline) / size,
                    "write_seconds": written,
                    **run,
                }
                results.append(row)
                print(
                    f"{count:>10}  {size / 2**20:>7.1f}Mi  {row['output']:>6}  {run['peak_rss'] / 2**20:>7.0f}Mi  "
                    f"{row['ratio']:>5.2f}  {row['ratio_above_baseline']:>10.2f}  {run['seconds']:>6.1f}s"
                    + ("" if run["exit"] == 0 else f"  EXIT {run['exit']}")
                )
            path.unlink()
    if args.out:
        args.out.write_text(json.dumps({"now": NOW.isoformat(), "rusage_unit": "bytes", "results": results}, indent=2))
    return 0 if all(row["exit"] == 0 for row in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
