"""A Time Machine share served by Debian's Samba (vfs_fruit, `fruit:time machine`), from provision to rollback.

`zfstm provision --server samba --owner tmuser --write-config /etc/samba/smb.conf` makes the dataset and the share
(with ``valid users = tmuser``); smbd serves it on loopback; smbclient plays the Mac and writes a sparsebundle over
SMB3 (bands, then SnapshotHistory.plist and MachineID.plist); `zfstm run` with the configuration snippet provision
printed (plus how to stop and start this smbd) takes the snapshot once the backup is complete and quiet; the Mac
then damages the bundle; `zfstm rollback --last-good --yes` stops smbd, brings the snapshot back and starts smbd;
smbclient lists and reads exactly the files of the snapshot again. The tests run in file order on one share.
"""

from __future__ import annotations

import json
import os
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
from zfstm.service.control import SAMBA_PROCESSES
from zfstm.service.holder_scan import default_scanner
from zfstm.service.holders import wanted
from zfstm.testbed import guest_samba as samba

pytestmark = pytest.mark.integration

POOL = os.environ.get("ZFSTM_TESTBED_POOL", "tank")
OUT = Path(os.environ.get("ZFSTM_TESTBED_OUT", "/tmp/work/out"))
WORK = Path("/tmp/work/samba")
DATA = f"{POOL}/tm"
SHARE = "TimeMachine"
USER, PASSWORD = "tmuser", "tmpass"
BUNDLE = "Mac.sparsebundle"
BAND = 64 * 1024
QUIET = 20  # seconds: the configured quiet period


def zfstm(*argv: str) -> subprocess.CompletedProcess[str]:
    """The real command line, as the timer or an administrator runs it."""
    return subprocess.run([sys.executable, "-m", "zfstm.cli.main", *argv], capture_output=True, text=True, check=False)


def with_config(*argv: str) -> subprocess.CompletedProcess[str]:
    return zfstm(*argv, "--config", str(WORK / "zfstm.toml"))


def snapshots() -> list[str]:
    argv = ["zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-s", "createtxg", "-d", "1", DATA]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()


@attrs.define
class Mac:
    """Time Machine over SMB: a local copy of the bundle, pushed with smbclient."""

    local: Path
    files: dict[str, bytes] = attrs.Factory(dict)  # path in the bundle -> content, as the Mac last wrote it

    def push(self, names: list[str], *, mkdirs: tuple[str, ...] = ()) -> None:
        commands = [f'mkdir "{BUNDLE}/{d}"' if d else f'mkdir "{BUNDLE}"' for d in mkdirs]
        for name in names:
            (self.local / name).parent.mkdir(parents=True, exist_ok=True)
            (self.local / name).write_bytes(self.files[name])
            commands.append(f'put "{self.local / name}" "{BUNDLE}/{name}"')
        done = samba.smbclient(SHARE, USER, PASSWORD, commands)
        assert done.returncode == 0, done.stdout + done.stderr

    def backup(self, bands: range) -> datetime:
        """Write bands, then record the completed, verified backup (as Time Machine does, last)."""
        first = not self.files
        self.files.update({f"bands/{n:x}": os.urandom(BAND) for n in bands})
        if first:
            self.files.update({"Info.plist": info_plist(band_size=BAND), "Info.bckup": info_plist(band_size=BAND)})
            self.files["token"] = b""
        self.push([f"bands/{n:x}" for n in bands] + (["Info.plist", "Info.bckup", "token"] if first else []),
                  mkdirs=("", "bands") if first else ())  # fmt: skip
        completed = datetime.now(UTC).replace(microsecond=0)
        self.files["com.apple.TimeMachine.SnapshotHistory.plist"] = history_plist([completed])
        self.files["com.apple.TimeMachine.MachineID.plist"] = machine_id_plist(
            verification_state=1, verification_date=completed
        )
        self.push(["com.apple.TimeMachine.SnapshotHistory.plist", "com.apple.TimeMachine.MachineID.plist"])
        return completed


@attrs.define
class Shared:
    mac: Mac
    snippet: str = ""
    results: dict[str, Any] = attrs.Factory(dict)


@pytest.fixture(scope="module")
def shared() -> Iterator[Shared]:
    OUT.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    samba.prepare()
    samba.SMB_CONF.write_text(samba.global_section())
    samba.add_user(USER, PASSWORD)
    state = Shared(Mac(WORK / "mac"))
    yield state
    (OUT / "samba.json").write_text(json.dumps(state.results, indent=2, default=str))
    samba.stop()


def test_provision_writes_a_fruit_time_machine_share_for_the_owner(shared: Shared) -> None:
    """The dataset, the [TimeMachine] share with fruit:time machine and valid users = the owner, a snippet that says
    kind = "samba"; testparm accepts the file."""
    done = zfstm("provision", DATA, "--share", SHARE, "--server", "samba", "--size", "2G", "--owner", USER,
                 "--write-config", str(samba.SMB_CONF), "--target", "tm")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    conf = samba.SMB_CONF.read_text()
    shared.results["smb.conf"] = conf
    assert conf.startswith(samba.global_section())
    assert f"[{SHARE}]" in conf and "fruit:time machine = yes" in conf and f"valid users = {USER}" in conf
    lines = done.stdout.split("zfstm.toml:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    shared.snippet = "\n".join(line.removeprefix("  ") for line in lines) + "\n"
    assert 'kind = "samba"' in shared.snippet, done.stdout
    assert Path(f"/{DATA}").stat().st_uid == int(subprocess.check_output(["id", "-u", USER]))
    testparm = subprocess.run(["testparm", "-s", str(samba.SMB_CONF)], capture_output=True, text=True, check=False)
    assert testparm.returncode == 0, testparm.stderr
    shared.results["start_seconds"] = samba.start()


def test_a_backup_written_with_smbclient_is_snapshotted_after_it_is_quiet(shared: Shared) -> None:
    """`zfstm run` with provision's snippet waits while the backup is fresh, then takes the snapshot."""
    (WORK / "zfstm.toml").write_text(
        f'state_dir = "{WORK / "state"}"\nrun_dir = "{WORK / "run"}"\n\n'
        f'[detector]\nquiet_period = "{QUIET}s"\ncompletion_slack = "5s"\n\n'
        + shared.snippet
        + f'adapter = "pidfile"\nservice = "{samba.PIDFILE}"\nstart = {json.dumps(list(samba.SMBD_ARGV))}\n'
        'program = "smbd"\n'
    )
    check = with_config("config", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    shared.mac.backup(range(8))
    assert (Path(f"/{DATA}") / BUNDLE / "bands" / "7").read_bytes() == shared.mac.files["bands/7"]
    time.sleep(QUIET + 5)
    done = with_config("run", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    target = json.loads(done.stdout)["targets"][0]
    shared.results["tick"] = target
    assert target["action"] == "take", target
    assert len(snapshots()) == 1


def test_rollback_brings_the_snapshot_back_and_samba_serves_it(shared: Shared) -> None:
    """The Mac overwrites and deletes bands; rollback --last-good stops smbd, restores, starts smbd; smbclient sees
    the snapshot's files with their content."""
    good = dict(shared.mac.files)
    shared.mac.files["bands/0"] = os.urandom(BAND)
    shared.mac.files["bands/8"] = os.urandom(BAND)
    shared.mac.push(["bands/0", "bands/8"])
    gone = samba.smbclient(SHARE, USER, PASSWORD, [f'del "{BUNDLE}/bands/3"'])
    assert gone.returncode == 0, gone.stdout + gone.stderr
    dry = with_config("rollback", "tm", "--last-good", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    shared.results["rollback_plan"] = dry.stdout
    before = samba.running("smbd")
    done = with_config("rollback", "tm", "--last-good", "--yes")
    shared.results["rollback"] = done.stdout + done.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    after = samba.running("smbd")
    shared.results["smbd_pids"] = {"before": before, "after": after}
    assert after and not set(after) & set(before), "smbd was not restarted by the rollback"
    samba.wait_listening()
    listing = samba.smbclient(SHARE, USER, PASSWORD, [f'ls "{BUNDLE}/bands/*"'])
    assert listing.returncode == 0, listing.stdout + listing.stderr
    served = {line.split()[0] for line in listing.stdout.splitlines() if line.startswith("  ") and line.split()}
    shared.results["served_bands"] = sorted(served)
    assert served - {".", ".."} == {f"{n:x}" for n in range(8)}
    back = WORK / "back"
    back.mkdir()
    names = sorted(good)
    commands = [f'get "{BUNDLE}/{name}" "{back / name.replace("/", "_")}"' for name in names]
    read = samba.smbclient(SHARE, USER, PASSWORD, commands)
    assert read.returncode == 0, read.stdout + read.stderr
    assert {name: (back / name.replace("/", "_")).read_bytes() == good[name] for name in names} == dict.fromkeys(
        names, True
    )


def smbd_processes() -> dict[int, str]:
    """pid -> /proc/PID/comm of every process running smbd's binary (whatever name it gave itself)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "exe").readlink().name == "smbd":
                    found[int(entry.name)] = (entry / "comm").read_text().strip()
            except OSError:
                continue
    return found


def test_zfstm_knows_the_name_of_every_smbd_process_of_a_session(shared: Shared) -> None:
    """With a client connected, the smbd serving the connection has a name in the list zfstm's holder scan and
    session count go by: an smbd it did not recognise could keep a share's files open unseen."""
    before = set(smbd_processes())
    argv = ["smbclient", f"//127.0.0.1/{SHARE}", "-U", f"{USER}%{PASSWORD}", "-m", "SMB3"]
    client = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not set(smbd_processes()) - before:
            assert time.monotonic() < deadline, "no smbd process for the client's connection after 60 s"
            time.sleep(0.5)
        seen = smbd_processes()
        holders = default_scanner(SAMBA_PROCESSES)([Path(f"/{DATA}")])
    finally:
        client.communicate("exit\n", timeout=60)
    shared.results["smbd_comms"] = seen
    shared.results["holders_while_connected"] = [attrs.asdict(holder) for holder in holders]
    # smbd's helpers (smbd-notifyd, smbd-cleanupd, smbd-scavenger) hold no share files; the connection's smbd can.
    sessions = {pid: name for pid, name in seen.items() if pid not in before and not name.startswith("smbd-")}
    assert sessions, seen
    assert all(wanted(name, SAMBA_PROCESSES) for name in sessions.values()), seen
