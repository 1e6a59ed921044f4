"""The snapshot life-cycle on real ZFS behind a real netatalk: a Time Machine-like share written over AFP.

A "Mac" (the small AFP client in tests/integration/afpclient.py) writes a sparsebundle to a netatalk volume on
``tank/tm`` whose CNID database lives on ``tank/cnid``, the way Time Machine does: bands, then
SnapshotHistory.plist with the completion date, MachineID.plist with the verification state. `zfstm run` (the real
command, as a subprocess) must take no snapshot while the backup is in progress, one after it completed and the
share went quiet; the share and CNID snapshots must share one createtxg; the known-good hold must move to the newer
verified snapshot and leave the old one; a snapshot taken after a failed verification must say so and never get
the hold. The tests run in file order and share one served volume; small quiet periods keep them short.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from tests.unit.timemachine.fixtures import history_plist, info_plist, machine_id_plist
from zfstm.lock import acquire
from zfstm.testbed.afpclient import ERR_OBJECT_NOT_FOUND, AfpClient, AfpError
from zfstm.testbed.guest_netatalk import AFP_CONF, afp_conf_text, wait_listening

pytestmark = pytest.mark.integration

POOL = os.environ.get("ZFSTM_TESTBED_POOL", "tank")
OUT = Path(os.environ.get("ZFSTM_TESTBED_OUT", "/tmp/work/out"))
WORK = Path("/tmp/work/lifecycle")
DATA, CNID = f"{POOL}/tm", f"{POOL}/cnid"
QUIET = 45  # seconds: the configured quiet period (a tick in the emulated VM takes ~15 s)
BUNDLE = "Mac.sparsebundle"
BAND = 256 * 1024


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check)


def zfstm(*argv: str) -> subprocess.CompletedProcess[str]:
    """The real command line, as the timer or an administrator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "zfstm.cli.main", *argv, "--config", str(WORK / "zfstm.toml")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ZFSTM_RUN_DIR": str(WORK / "run")},
    )


def tick() -> dict[str, Any]:
    done = zfstm("run", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def snapshots(dataset: str) -> list[dict[str, str]]:
    """name, createtxg, userrefs and zfstm properties of each snapshot, oldest first."""
    props = "name,createtxg,userrefs,zfstm:tm-verification,zfstm:activity,zfstm:trigger"
    done = run("zfs", "list", "-H", "-p", "-t", "snapshot", "-o", props, "-s", "createtxg", "-d", "1", dataset)
    keys = props.split(",")
    return [dict(zip(keys, line.split("\t"), strict=True)) for line in done.stdout.splitlines()]


def held(dataset: str) -> list[str]:
    names = [s["name"] for s in snapshots(dataset) if s["userrefs"] != "0"]
    return [n for n in names if "zfstm-known-good" in run("zfs", "holds", "-H", n).stdout]


@attrs.define
class Mac:
    """A Time Machine stand-in speaking AFP: one session while it backs up, logged out when done."""

    afp: AfpClient | None = None
    vol: int = 0
    bundle: int = 0
    bands: int = 0
    next_band: int = 0

    def connect(self) -> None:
        self.afp = AfpClient()
        self.afp.login("tmuser", "tmpass")
        name = next(n for n in self.afp.volume_names() if n.lower() == "tm")
        self.vol = self.afp.open_volume(name)
        if not self.bundle:
            self.bundle = self.afp.create_dir(self.vol, 2, BUNDLE)
            self.bands = self.afp.create_dir(self.vol, self.bundle, "bands")
            self.put(self.bundle, "Info.plist", info_plist(band_size=BAND))
            self.put(self.bundle, "Info.bckup", info_plist(band_size=BAND))
            self.put(self.bundle, "token", b"")
        else:
            self.bundle = self.afp.stat(self.vol, 2, BUNDLE).node_id
            self.bands = self.afp.stat(self.vol, self.bundle, "bands").node_id

    def put(self, did: int, name: str, data: bytes) -> None:
        """Replace a file (Time Machine writes a .tmp and renames; delete + create is the same to the server)."""
        assert self.afp is not None
        try:
            self.afp.delete(self.vol, did, name)
        except AfpError as exc:
            if exc.code != ERR_OBJECT_NOT_FOUND:
                raise
        self.afp.write_file(self.vol, did, name, data)

    def write_bands(self, count: int) -> None:
        for _ in range(count):
            self.put(self.bands, format(self.next_band, "x"), os.urandom(BAND))
            self.next_band += 1

    def finish(self, *, verification_state: int) -> datetime:
        """Record a completed backup now, and the verification verdict; returns the completion time."""
        completed = datetime.now(UTC).replace(microsecond=0)
        self.completions.append(completed)
        self.put(self.bundle, "com.apple.TimeMachine.SnapshotHistory.plist", history_plist(self.completions))
        state = machine_id_plist(verification_state=verification_state, verification_date=completed)
        self.put(self.bundle, "com.apple.TimeMachine.MachineID.plist", state)
        return completed

    def disconnect(self) -> None:
        assert self.afp is not None
        self.afp.close_volume(self.vol)
        self.afp.logout()
        self.afp.close()
        self.afp = None

    completions: list[datetime] = attrs.Factory(list)


@attrs.define
class Shared:
    mac: Mac
    results: dict[str, Any] = attrs.Factory(dict)


def start_netatalk() -> None:
    run("netatalk")
    wait_listening(60)


@pytest.fixture(scope="module")
def shared() -> Iterator[Shared]:
    OUT.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    run("zfs", "create", "-o", "atime=off", DATA)
    run("zfs", "create", "-o", "atime=off", CNID)
    shutil.chown(f"/{DATA}", user="tmuser", group=run("id", "-gn", "tmuser").stdout.strip())
    AFP_CONF.write_text(afp_conf_text(POOL))
    (WORK / "zfstm.toml").write_text(
        f"""
run_dir = "{WORK / "run"}"
[retention]
keep_all = "1d"  # all snapshots of this short test fall into one hour: keep them to look at them
[detector]
quiet_period = "{QUIET}s"
completion_slack = "5s"
[[targets]]
name = "tm"
dataset = "{DATA}"
cnid_dataset = "{CNID}"
[targets.file_server]
kind = "netatalk"
"""
    )
    start_netatalk()
    state = Shared(Mac())
    yield state
    (OUT / "lifecycle.json").write_text(json.dumps(state.results, indent=2, default=str))
    run("pkill", "-TERM", "-x", "netatalk", check=False)
    time.sleep(2)


def test_config_check_accepts_the_testbed_config(shared: Shared) -> None:
    """`zfstm config check` validates the file without touching anything."""
    done = zfstm("config", "check")
    assert done.returncode == 0, done.stderr
    assert 'dataset = "tank/tm"' in done.stdout


def test_first_backup_in_progress_takes_no_snapshot(shared: Shared) -> None:
    """While the Mac is connected and writing bands (no completion yet), a tick takes nothing."""
    shared.mac.connect()
    shared.mac.write_bands(8)
    report = tick()
    target = report["targets"][0]
    shared.results["first_in_progress"] = target
    assert target["action"] == "wait"
    assert target["activity"] in {"in_progress", "unknown"}
    assert snapshots(DATA) == []


def test_after_completion_and_quiet_one_snapshot_with_cnid_in_one_txg(shared: Shared) -> None:
    """After the completion, logout and the quiet period, one snapshot of share + CNID database, one createtxg."""
    shared.mac.finish(verification_state=1)
    shared.mac.disconnect()
    settling = tick()["targets"][0]
    shared.results["settling"] = settling
    assert settling["action"] == "wait"  # completed seconds ago: not quiet yet
    time.sleep(QUIET + 5)
    target = tick()["targets"][0]
    shared.results["first_snapshot"] = target
    assert target["action"] == "take", target
    data, cnid = snapshots(DATA), snapshots(CNID)
    assert len(data) == len(cnid) == 1
    assert data[0]["createtxg"] == cnid[0]["createtxg"]
    assert data[0]["name"].split("@")[1] == cnid[0]["name"].split("@")[1]
    assert data[0]["zfstm:tm-verification"] == "ok"
    assert data[0]["zfstm:activity"] == "completed_and_quiet"
    assert held(DATA) == [data[0]["name"]]
    assert held(CNID) == [cnid[0]["name"]]
    shared.results["snapshots_1"] = {"data": data, "cnid": cnid}


def test_second_backup_in_progress_takes_no_snapshot(shared: Shared) -> None:
    """A new backup session writing bands: no snapshot, whatever the sessions and `written` say."""
    shared.mac.connect()
    shared.mac.write_bands(6)
    target = tick()["targets"][0]
    status = json.loads(zfstm("status", "--json").stdout)["targets"][0]
    shared.results["second_in_progress"] = {"tick": target, "open_sessions": status["open_sessions"]}
    assert target["action"] == "wait"
    assert target["activity"] == "in_progress"
    assert len(snapshots(DATA)) == 1


def test_busy_target_exits_5(shared: Shared) -> None:
    """While another process holds the target's lock, `zfstm run` exits 5 and changes nothing."""
    with acquire("tm", WORK / "run"):
        done = zfstm("run")
    assert done.returncode == 5, done.stdout + done.stderr
    assert "busy" in done.stdout


def test_known_good_hold_moves_to_the_newer_verified_snapshot(shared: Shared) -> None:
    """The second verified backup's snapshot gets the hold first; then the first one is released."""
    first = snapshots(DATA)[0]["name"]
    shared.mac.finish(verification_state=1)
    shared.mac.disconnect()
    time.sleep(QUIET + 5)
    target = tick()["targets"][0]
    shared.results["second_snapshot"] = target
    assert target["action"] == "take"
    assert [step["action"] for step in target["hold_steps"]] == ["hold", "release"]
    data, cnid = snapshots(DATA), snapshots(CNID)
    assert len(data) == 2
    assert data[1]["createtxg"] == cnid[1]["createtxg"]
    assert held(DATA) == [data[1]["name"]]
    assert held(CNID) == [cnid[1]["name"]]
    assert first not in held(DATA)


def test_failed_verification_is_marked_and_never_known_good(shared: Shared) -> None:
    """A backup after which Time Machine reports a failed verification: snapshot marked failed, hold stays."""
    good = held(DATA)
    shared.mac.connect()
    shared.mac.write_bands(2)
    shared.mac.finish(verification_state=2)
    shared.mac.disconnect()
    time.sleep(QUIET + 5)
    target = tick()["targets"][0]
    shared.results["failed_snapshot"] = target
    assert target["action"] == "take"
    data = snapshots(DATA)
    assert data[-1]["zfstm:tm-verification"] == "failed"
    assert held(DATA) == good
    status = json.loads(zfstm("status", "--json").stdout)["targets"][0]
    shared.results["status"] = status
    assert status["verification"]["state"] == "failed"
    assert status["known_good"] == good[0]
    assert status["snapshot_count"] == 3
    assert all(isinstance(s["used"], int) and isinstance(s["referenced"], int) for s in status["snapshots"])


def test_nothing_new_means_no_snapshot(shared: Shared) -> None:
    """With no new completion a tick waits, and `zfstm status` renders its table."""
    target = tick()["targets"][0]
    assert target["action"] == "wait"
    table = zfstm("status")
    assert table.returncode == 0
    assert "KNOWN-GOOD" in table.stdout and "REFER" in table.stdout
    shared.results["status_table"] = table.stdout


def test_daemon_ticks_and_stops_cleanly_on_sigterm(shared: Shared) -> None:
    """`zfstm daemon` ticks at start, logs to stderr, and exits 0 on SIGTERM (as SMF and systemd stop it)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "zfstm.cli.main", "daemon", "--config", str(WORK / "zfstm.toml"), "--interval", "1h"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ZFSTM_RUN_DIR": str(WORK / "run")},
    )
    assert process.stderr is not None
    lines = []
    for line in process.stderr:  # wait for the first tick's log line before stopping it
        lines.append(line)
        if "tick:" in line:
            break
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=120)
    err = "".join(lines) + rest
    shared.results["daemon_stderr"] = err
    assert process.returncode == 0, err
    assert "tick:" in err
    assert "stopped" in err
