"""Offline `zfstm plan --input` streams: memory stays a small multiple of the input (issue 14).

Measured with tracemalloc (Python's own allocations) over the whole verb, reading, planning and writing. Before,
the input was held as one list of lines, every line had its own empty holds set, and the output was built as
one string (and, with --json, a dict per snapshot): about 28x the input at 200,000 lines, 30x in RSS at 1M.
"""

from __future__ import annotations

import contextlib
import os
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from zfstm.cli.main import main

LINES = 5_000
#: A guard against a return to building the whole input or output at once; the figures (peak RSS against the
#: input, 1M lines) are in docs/benchmarks.md (benchmarks/bench_offline_memory.py).
LIMIT = 10


@pytest.mark.parametrize("mode", [["--destroy-only"], [], ["--json"]])
def test_offline_plan_memory_is_a_small_multiple_of_the_input(tmp_path: Path, mode: list[str]) -> None:
    listing = tmp_path / "in.tsv"
    start = datetime(2024, 11, 28, tzinfo=UTC)
    with listing.open("w") as out:
        for minute in range(LINES):
            when = start + timedelta(minutes=minute)
            out.write(f"tank/tm@zfstm-{when:%Y%m%dT%H%M%S}Z\t{when:%Y-%m-%dT%H:%M:%S}Z\n")
    size = listing.stat().st_size
    with Path(os.devnull).open("w") as null, contextlib.redirect_stdout(null):  # imports and caches first
        main(["plan", "--input", str(listing), "--now", "2026-11-28T12:00:00Z", "--destroy-only"])
    tracemalloc.start()
    try:
        with Path(os.devnull).open("w") as null, contextlib.redirect_stdout(null):
            assert main(["plan", "--input", str(listing), "--now", "2026-11-28T12:00:00Z", *mode]) == 0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < LIMIT * size, f"{peak / size:.1f}x the input"
