"""Benchmark: seconds from a Time Machine logout to the known-good snapshot, session events vs the quiet period.

    python3 -m zfstm.testbed run --out results --timeout 3600 -- python3 /src/benchmarks/bench_events.py --runs 20

In the testbed guest (netatalk 4.2 by default, ``--netatalk 3.1`` for the other build): a "Mac" (the AFP client of
tests/integration/test_lifecycle.py) writes bands, SnapshotHistory.plist and MachineID.plist, and logs out; the
clock runs from the logout until ``zfs holds`` shows zfstm-known-good on a new snapshot (polled every 0.1 s).

- events: `zfstm daemon` with ``[events] fce_listener`` and a quiet period of an hour (only the logout can be what
  triggers), ``--runs`` backups;
- quiet: the same daemon without ``[events]``, ``quiet_period`` = ``--quiet`` and ``--interval`` between ticks
  (default 60 s and 30 s: the shipped defaults, 10 min and 15 min, would take hours for 20 runs; the latency is
  the quiet period plus the wait for the next tick, so it scales), ``--quiet-runs`` backups.

Writes ``bench_events.json`` (every latency, min/median/p90/max per mode) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from tests.integration.test_events import FCE, PORT, config_text, start_daemon, stop_daemon
from tests.integration.test_lifecycle import Mac, held, run
from zfstm.testbed.guest_netatalk import afp_conf_text, netatalk

POOL = os.environ.get("ZFSTM_TESTBED_POOL", "tank")
WORK = Path("/tmp/work/bench-events")
DATA, CNID = f"{POOL}/tm", f"{POOL}/cnid"


def config(*, events: bool, quiet: str) -> str:
    """The test's configuration; without ``[events]`` for the quiet-period mode."""
    text = config_text(WORK, PORT, "tm", DATA, CNID, "netatalk").replace(
        'quiet_period = "1h"', f'quiet_period = "{quiet}"'
    )
    return text if events else text.replace(f'[events]\nfce_listener = "127.0.0.1:{PORT}"\n', "[events]\n")


def one_backup(mac: Mac, limit: float) -> float:
    """A backup and logout; seconds until a new snapshot holds zfstm-known-good."""
    before = set(held(DATA))
    mac.connect()
    mac.write_bands(4)
    mac.finish(verification_state=1)
    logout = time.monotonic()
    mac.disconnect()
    while time.monotonic() - logout < limit:
        if set(held(DATA)) - before:
            return time.monotonic() - logout
        time.sleep(0.1)
    raise TimeoutError(f"no known-good snapshot {limit} s after the logout")


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "runs": len(ordered),
        "min": round(ordered[0], 2),
        "median": round(statistics.median(ordered), 2),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 2),
        "max": round(ordered[-1], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quiet-runs", type=int, default=5)
    parser.add_argument("--quiet", default="60s")
    parser.add_argument("--interval", default="30s")
    parser.add_argument("--netatalk", default="4.2")
    parser.add_argument("--out", default=os.environ.get("ZFSTM_TESTBED_OUT", "/out"))
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    for dataset in (DATA, CNID):
        run("zfs", "destroy", "-r", dataset, check=False)
        run("zfs", "create", "-o", "atime=off", dataset)
    shutil.chown(f"/{DATA}", user="tmuser", group=run("id", "-gn", "tmuser").stdout.strip())
    server = netatalk(args.netatalk)
    server.start(afp_conf_text(POOL).replace("[Global]\n", "[Global]\n" + FCE), POOL)
    mac = Mac()
    results: dict[str, Any] = {"netatalk": args.netatalk, "machine": platform.machine(), "quiet": args.quiet}
    try:
        log: dict[str, Any] = {}
        daemon = start_daemon(WORK, config(events=True, quiet="1h"))
        events = [one_backup(mac, 300) for _ in range(args.runs)]
        stop_daemon(daemon, log)
        results["events"] = {"latencies": [round(v, 2) for v in events], **summary(events)}
        print("events:", results["events"], flush=True)
        daemon = start_daemon(WORK, config(events=False, quiet=args.quiet), interval=args.interval)
        quiet = [one_backup(mac, 3600) for _ in range(args.quiet_runs)]
        stop_daemon(daemon, log)
        results["quiet_period"] = {
            "latencies": [round(v, 2) for v in quiet],
            "interval": args.interval,
            **summary(quiet),
        }
        print("quiet period:", results["quiet_period"], flush=True)
    finally:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "bench_events.json").write_text(json.dumps(results, indent=2))
        server.stop()
        server.release(POOL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
