"""Benchmark: seconds from a Time Machine session end to the known-good hold, session events vs the quiet period.

    python3 -m zfstm.testbed run --out results --timeout 3600 -- python3 /src/benchmarks/bench_events.py --runs 20

In one testbed guest, one after the other, each on fresh datasets of its own:

- ``netatalk-4.2`` and ``netatalk-3.1``: `zfstm daemon` with ``[events] fce_listener`` and a quiet period of an
  hour (only the logout can be what triggers); a "Mac" (the AFP client of tests/integration/test_lifecycle.py)
  writes 4 bands, SnapshotHistory.plist and MachineID.plist, and logs out;
- ``samba``: the same daemon; smbclient writes the same files over SMB3, and smbd's ``root postexec`` runs
  `zfstm notify` at the disconnect (smbclient's exit);
- ``quiet``: netatalk 4.2 and the daemon without ``[events]``, ``quiet_period`` = ``--quiet``, a tick every
  ``--interval`` (the shipped 10 min and 15 min would take hours for 20 runs; the latency is the quiet period plus
  the wait for the next tick, so it scales).

The clock runs from the logout (the AFP logout reply; smbclient's exit) until the daemon's log line saying it
placed zfstm-known-good on the new snapshot arrives (read from its stderr pipe; no polling of ZFS beside the
daemon, which would steal the guest's two emulated CPUs). ``zfs holds`` confirms the hold after each run. The
daemon runs with its tick stage timings in the log; the lines of each run are kept. Writes ``bench_events.json``
(every latency, min/median/p90/max per mode, the daemon's lines) to ``--out`` after each mode.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.integration.test_events import (
    FCE,
    PORT,
    Daemon,
    SmbMac,
    config_text,
    fresh_datasets,
    smbd_serving,
    start_daemon,
    stop_daemon,
)
from tests.integration.test_lifecycle import Mac, held
from zfstm.testbed.guest_netatalk import afp_conf_text, netatalk

POOL = os.environ.get("ZFSTM_TESTBED_POOL", "tank")
WORK = Path("/tmp/work/bench-events")
HOLD_LINE = "hold zfstm-known-good on "
MODES = ("netatalk-4.2", "netatalk-3.1", "samba", "quiet")


def config(root: str, kind: str, *, events: bool, quiet: str) -> str:
    """The integration test's configuration; without a listener for the quiet-period mode."""
    cnid = f"{POOL}/{root}/cnid" if kind == "netatalk" else None
    text = config_text(WORK / root, PORT, "tm", f"{POOL}/{root}/tm", cnid, kind)
    text = text.replace('quiet_period = "1h"', f'quiet_period = "{quiet}"')
    return text if events else text.replace(f'fce_listener = "127.0.0.1:{PORT}"\n', "")


def timed(daemon: Daemon, dataset: str, session: Callable[[], None], limit: float) -> tuple[float, list[str]]:
    """Run ``session`` (a backup ending in its logout); the seconds from its end until the daemon held a new
    snapshot of ``dataset`` as known-good, and the daemon's lines until that tick's summary."""
    mark = len(daemon.lines)
    session()
    ended = time.monotonic()
    index = daemon.wait_for(HOLD_LINE + dataset + "@", after=mark, seconds=limit)
    latency = daemon.arrived[index] - ended
    name = daemon.lines[index].split(HOLD_LINE, 1)[1].strip()
    assert name in held(dataset), f"{name} not held: {daemon.log}"
    done = daemon.wait_for("tick:", after=index, seconds=limit)  # the tick's line: where its time went
    return latency, [line.rstrip() for line in daemon.lines[mark : done + 1]]


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "runs": len(ordered),
        "min": round(ordered[0], 2),
        "median": round(statistics.median(ordered), 2),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 2),
        "max": round(ordered[-1], 2),
    }


def afp_mode(version: str, runs: int, *, events: bool, quiet: str, interval: str, limit: float) -> dict[str, Any]:
    root = "b" + version.replace(".", "") + ("e" if events else "q")
    work = WORK / root
    work.mkdir(parents=True)
    fresh_datasets(root, "tm", "cnid")
    server = netatalk(version)
    server.start(afp_conf_text(POOL, root).replace("[Global]\n", "[Global]\n" + (FCE if events else "")), POOL)
    mac, latencies, traces = Mac(), [], []
    log: dict[str, Any] = {}
    daemon = start_daemon(work, config(root, "netatalk", events=events, quiet=quiet), interval=interval)
    try:
        for _ in range(runs):

            def backup() -> None:
                mac.connect()
                mac.write_bands(4)
                mac.finish(verification_state=1)
                mac.disconnect()

            latency, lines = timed(daemon, f"{POOL}/{root}/tm", backup, limit)
            latencies.append(latency)
            traces.append(lines)
            print(f"{version} {'events' if events else 'quiet'}: {latency:.2f} s", flush=True)
    finally:
        stop_daemon(daemon, log)
        server.stop()
        server.release(POOL)
    return {"netatalk": version, "latencies": [round(v, 2) for v in latencies], "traces": traces}


def samba_mode(runs: int, limit: float) -> dict[str, Any]:
    work = WORK / "bsmb"
    log: dict[str, Any] = {}
    latencies, traces = [], []
    with smbd_serving("bsmb", work) as data:
        daemon = start_daemon(work, config("bsmb", "samba", events=True, quiet="1h"))
        mac = SmbMac(work / "local")
        try:
            for _ in range(runs):
                latency, lines = timed(daemon, data, lambda: mac.session(bands=4, finish=True), limit)
                latencies.append(latency)
                traces.append(lines)
                print(f"samba events: {latency:.2f} s", flush=True)
        finally:
            stop_daemon(daemon, log)
    return {"latencies": [round(v, 2) for v in latencies], "traces": traces}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="backups per mode")
    parser.add_argument("--quiet-runs", type=int, default=None, help="backups for the quiet mode (default --runs)")
    parser.add_argument("--quiet", default="20s", help="quiet_period of the quiet mode")
    parser.add_argument("--interval", default="10s", help="daemon interval of the quiet mode")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument("--out", default=os.environ.get("ZFSTM_TESTBED_OUT", "/out"))
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": f"{platform.machine()} {platform.processor()}", "cpus": os.cpu_count()}
    with Path("/proc/cpuinfo").open() as cpuinfo:
        results["cpu"] = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    for mode in args.modes.split(","):
        started = time.monotonic()
        if mode.startswith("netatalk-"):
            result = afp_mode(mode.split("-", 1)[1], args.runs, events=True, quiet="1h", interval="1h", limit=300)
        elif mode == "samba":
            result = samba_mode(args.runs, 300)
        elif mode == "quiet":
            runs = args.quiet_runs if args.quiet_runs is not None else args.runs
            result = afp_mode("4.2", runs, events=False, quiet=args.quiet, interval=args.interval, limit=3600)
            result |= {"quiet_period": args.quiet, "interval": args.interval}
        else:
            parser.error(f"unknown mode {mode}")
        result |= summary(result["latencies"]) | {"mode_seconds": round(time.monotonic() - started)}
        results[mode] = result
        print(mode, {k: v for k, v in result.items() if k != "traces"}, flush=True)
        (out / "bench_events.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
