"""`zfstm rollback` against real OpenZFS and real netatalk 4.2.3, with a real AFP client.

A Time Machine-like share (a sparsebundle with >= 2,000 bands and plists) is written over AFP on tank/tm, with
``vol dbpath`` on tank/cnid. The two datasets are snapshotted in one atomic call (same txg) while netatalk runs,
the snapshot is held as known-good, the share is changed further (new files over AFP, a newer atomic snapshot,
more files), then broken (MachineID.plist VerificationState 2, bands deleted and overwritten). Then
``zfstm rollback tm --last-good --yes`` must give back the snapshot's files, every CNID the files had then
(database, EA, FPResolveID over AFP), a counter no lower than before, the newer snapshots in the kept dataset, and a
server that logs in and lists the share. Finally the rollback is killed at every step boundary (the journal's fault
hook) and ``--resume`` must complete each time.

Timings and counts go to $ZFSTM_TESTBED_OUT/rollback.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from zfstm.netatalk.check import record_paths
from zfstm.netatalk.cniddb import read_cnid_database
from zfstm.netatalk.metadata_ea import read_metadata_ea
from zfstm.rollback.journal import unfinished_rollbacks
from zfstm.rollback.runner import FAULT_ENV, FAULT_EXIT
from zfstm.service.pidfile import PidfileControl
from zfstm.testbed.afpclient import AfpClient

pytestmark = pytest.mark.integration

POOL = os.environ.get("ZFSTM_TESTBED_POOL", "tank")
OUT = Path(os.environ.get("ZFSTM_TESTBED_OUT", "/tmp/work/out"))
WORK = Path("/tmp/work")
SHARE = Path(f"/{POOL}/tm")
DB_DIR = Path(f"/{POOL}/cnid/tm/.AppleDB")
AFP_CONF = Path("/etc/netatalk/afp.conf")
CONFIG = WORK / "zfstm.toml"
STATE = WORK / "state"
BANDS = int(os.environ.get("ZFSTM_ROLLBACK_BANDS", "2000"))
BUNDLE = "mac.sparsebundle"
MACHINE_ID = "com.apple.TimeMachine.MachineID.plist"
CONF_TEXT = f"""[Global]
uam list = uams_clrtxt.so uams_dhx2.so
vol dbpath = /{POOL}/cnid/$v/
log file = /tmp/work/netatalk.log

[TM]
path = /{POOL}/tm
time machine = yes
"""


def plist(state: int) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict>'
        f"<key>VerificationState</key><integer>{state}</integer>"
        "<key>com.apple.backupd.HostUUID</key><string>4C4C4544-0000-0000-0000-000000000000</string>"
        "</dict></plist>\n"
    ).encode()


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check)


def netatalk_lockfile() -> Path:
    for line in sh("netatalk", "-V").stdout.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "lockfile":
            return Path(value.strip())
    return Path("/run/lock/netatalk")


def zfstm(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command line as a separate process (so the fault hook's os._exit kills only it)."""
    return subprocess.run(
        [sys.executable, "-m", "zfstm.cli.main", *argv], capture_output=True, text=True, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def manifest(root: Path) -> dict[str, str]:
    """relative path -> sha256 of every file (directories as 'dir'), without .zfs."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".zfs"]
        here = Path(dirpath)
        for name in dirnames:
            out[str((here / name).relative_to(root))] = "dir"
        for name in filenames:
            out[str((here / name).relative_to(root))] = hashlib.sha256((here / name).read_bytes()).hexdigest()
    return out


@attrs.frozen
class Share:
    server: PidfileControl
    cnids: dict[str, int]  # every path that existed in the known-good snapshot -> its CNID then
    snapshot_manifest: dict[str, str]
    highest_cnid: int  # the highest CNID handed out before the rollback
    bands_did: int


def wait_listening(seconds: float = 90) -> None:
    """afpd accepts connections a while after the netatalk master wrote its pidfile."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", 548), timeout=2).close()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
        else:
            return


def afp_session() -> tuple[AfpClient, int]:
    wait_listening()
    afp = AfpClient()
    afp.login("tmuser", "tmpass")
    name = next(n for n in afp.volume_names() if n.lower() == "tm")
    return afp, afp.open_volume(name)


def write_config(lockfile: Path) -> None:
    CONFIG.write_text(
        f'state_dir = "{STATE}"\nrun_dir = "{WORK / "run"}"\n\n'
        '[backend]\nkind = "cli"\n\n'
        '[file_server]\nkind = "netatalk"\nadapter = "pidfile"\n'
        f'service = "{lockfile}"\nstart = ["netatalk"]\nprogram = "netatalk"\nafp_conf = "{AFP_CONF}"\n\n'
        f'[[targets]]\nname = "tm"\ndataset = "{POOL}/tm"\ncnid_dataset = "{POOL}/cnid"\n'
    )


def break_share() -> None:
    """What a failed verification leaves: VerificationState 2, bands gone, bands overwritten (behind netatalk)."""
    (SHARE / BUNDLE / MACHINE_ID).write_bytes(plist(2))
    bands = sorted((SHARE / BUNDLE / "bands").iterdir())
    for band in bands[:100]:
        band.unlink()
    for band in bands[100:200]:
        band.write_bytes(b"garbage" * 100)


@pytest.fixture(scope="module")
def share() -> Iterator[Share]:
    OUT.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    sh("zfs", "create", "-o", "compression=lz4", "-o", "refquota=10G", f"{POOL}/tm")
    sh("zfs", "create", f"{POOL}/cnid")
    sh("zfs", "set", "zfstm:note=tm share", f"{POOL}/tm")
    shutil.chown(SHARE, user="tmuser", group=sh("id", "-gn", "tmuser").stdout.strip())
    AFP_CONF.write_text(CONF_TEXT)
    lockfile = netatalk_lockfile()
    write_config(lockfile)
    server = PidfileControl(argv=["netatalk"], pidfile=lockfile, program="netatalk")
    server.start()
    cnids: dict[str, int] = {}
    t0 = time.monotonic()
    afp, vol = afp_session()
    bundle = afp.create_dir(vol, 2, BUNDLE)
    cnids[BUNDLE] = bundle
    for leaf, data in (
        ("Info.plist", b"<plist/>\n"),
        ("Info.bckup", b"<plist/>\n"),
        ("token", b""),
        (MACHINE_ID, plist(1)),
    ):
        cnids[f"{BUNDLE}/{leaf}"] = afp.write_file(vol, bundle, leaf, data)
    bands = afp.create_dir(vol, bundle, "bands")
    cnids[f"{BUNDLE}/bands"] = bands
    for i in range(BANDS):
        cnids[f"{BUNDLE}/bands/{i:x}"] = afp.write_file(vol, bands, f"{i:x}", bytes([i % 256]) * 1024)
    timings["create_seconds"] = time.monotonic() - t0
    afp.logout()
    afp.close()
    # Atomic snapshot of data and CNID database while netatalk runs, held as known-good.
    sh("zfs", "snapshot", f"{POOL}/tm@good", f"{POOL}/cnid@good")
    sh("zfs", "hold", "zfstm-known-good", f"{POOL}/tm@good")
    good_manifest = manifest(SHARE / ".zfs/snapshot/good")
    # Changed further: new files over AFP, a newer atomic snapshot, more files.
    afp, vol = afp_session()
    later: dict[str, int] = {}
    for i in range(BANDS, BANDS + 200):
        later[f"{BUNDLE}/bands/{i:x}"] = afp.write_file(vol, bands, f"{i:x}", b"new" * 100)
    sh("zfs", "snapshot", f"{POOL}/tm@later", f"{POOL}/cnid@later")
    for i in range(BANDS + 200, BANDS + 300):
        later[f"{BUNDLE}/bands/{i:x}"] = afp.write_file(vol, bands, f"{i:x}", b"newer" * 100)
    afp.logout()
    afp.close()
    break_share()
    highest = max([*cnids.values(), *later.values()])
    (OUT / "rollback-setup.json").write_text(json.dumps({**timings, "files": len(cnids), "highest": highest}))
    yield Share(server, cnids, good_manifest, highest, bands)
    server.stop()


def check_cnids_over_afp(share: Share, sample: int = 50) -> None:
    """FPEnumerateExt2 of the bands directory and FPResolveID of a sample give the snapshot-time CNIDs."""
    afp, vol = afp_session()
    try:
        listed = {e.name: e.node_id for e in afp.enumerate(vol, share.bands_did)}
        expected = {p.rsplit("/", 1)[1]: c for p, c in share.cnids.items() if p.startswith(f"{BUNDLE}/bands/")}
        assert listed == expected
        files = [(p, c) for p, c in share.cnids.items() if p not in {BUNDLE, f"{BUNDLE}/bands"}]  # FPResolveID: files
        for path, cnid in files[:: max(1, len(files) // sample)]:
            entry = afp.resolve_id(vol, cnid)
            assert entry.name == path.rsplit("/", 1)[-1] and entry.node_id == cnid, path
    finally:
        afp.logout()
        afp.close()


def test_rollback_last_good_restores_files_cnids_counter_and_service(share: Share) -> None:
    """After `zfstm rollback --last-good`: files equal the snapshot's, every file keeps its snapshot-time CNID
    (AFP, database, EA), the counter is not lower than before and new files get higher CNIDs, the newer snapshots
    are reachable in the kept dataset, and the server logs in and lists the share."""
    plan = zfstm("rollback", "tm", "--last-good", "--dry-run", "--json", "--config", str(CONFIG))
    assert plan.returncode == 0, plan.stderr
    decided = json.loads(plan.stdout)
    assert decided["strategy"] == "paired", decided["strategy_reason"]
    t0 = time.monotonic()
    done = zfstm("rollback", "tm", "--last-good", "--yes", "--config", str(CONFIG))
    seconds = time.monotonic() - t0
    assert done.returncode == 0, done.stdout + done.stderr
    # The kept dataset's name carries the time of the real run (not of the dry run): ZFS says which it is.
    kept = sh("zfs", "get", "-H", "-o", "value", "zfstm:rollback-before", f"{POOL}/tm").stdout.strip()
    assert kept.startswith(f"{POOL}/tm.before-rollback-"), kept
    assert manifest(SHARE) == share.snapshot_manifest
    check_cnids_over_afp(share)
    afp, vol = afp_session()
    fresh = afp.write_file(vol, share.bands_did, "after-rollback", b"x")
    assert fresh > share.highest_cnid, "a CNID handed out after the snapshot would be reused"
    afp.delete(vol, share.bands_did, "after-rollback")
    afp.logout()
    afp.close()
    share.server.stop()
    db = read_cnid_database(DB_DIR)
    paths, _ = record_paths(db.records)
    by_path = {p: c for c, p in paths.items()}
    wrong_db = {p: (c, by_path.get(p)) for p, c in share.cnids.items() if by_path.get(p) != c}
    assert wrong_db == {}
    wrong_ea = [p for p, c in share.cnids.items() if (ea := read_metadata_ea(SHARE / p)) is None or ea.cnid != c]
    assert wrong_ea == []
    assert db.rootinfo is not None and db.rootinfo.last_cnid >= share.highest_cnid
    share.server.start()
    snaps = sh("zfs", "list", "-H", "-o", "name", "-t", "snapshot", kept).stdout.split()
    assert f"{kept}@later" in snaps
    assert (Path(f"/{kept}") / BUNDLE / MACHINE_ID).read_bytes() == plist(2)
    props = sh("zfs", "get", "-H", "-o", "value", "compression,refquota,zfstm:note", f"{POOL}/tm").stdout
    assert props.split("\n")[:3] == ["lz4", "10G", "tm share"]
    (OUT / "rollback.json").write_text(
        json.dumps({"rollback_seconds": seconds, "files": len(share.cnids), "counter": db.rootinfo.last_cnid,
                    "highest_before": share.highest_cnid, "stdout": done.stdout, "stderr": done.stderr[-2000:]})
    )  # fmt: skip


def boundaries() -> list[str]:
    chosen = os.environ.get("ZFSTM_ROLLBACK_BOUNDARIES")
    if chosen:
        return chosen.split(",")
    steps = ["stop-server", "read-counter", "clone-data", "promote-data", "retire-data", "install-data",
             "clone-cnid", "promote-cnid", "retire-cnid", "install-cnid", "raise-counter", "start-server",
             "verify"]  # fmt: skip
    return steps + [f"{s}:before" for s in steps]


def test_killed_at_every_step_boundary_resume_completes(share: Share) -> None:
    """For each step boundary: break the share, run the rollback with the fault hook (the process dies there),
    see it listed as unfinished, `--resume`, and find the snapshot's files, its CNIDs and a serving server."""
    results = {}
    for boundary in boundaries():
        break_share()
        time.sleep(1.1)  # new dataset names carry the time to the second
        died = zfstm("rollback", "tm", "--last-good", "--yes", "--config", str(CONFIG), env={FAULT_ENV: boundary})
        assert died.returncode == FAULT_EXIT, (boundary, died.stdout, died.stderr)
        assert [u.target for u in unfinished_rollbacks(STATE)] == ["tm"], boundary
        t0 = time.monotonic()
        resumed = zfstm("rollback", "tm", "--resume", "--yes", "--config", str(CONFIG))
        results[boundary] = time.monotonic() - t0
        assert resumed.returncode == 0, (boundary, resumed.stdout, resumed.stderr)
        assert unfinished_rollbacks(STATE) == []
        assert manifest(SHARE) == share.snapshot_manifest, boundary
        check_cnids_over_afp(share, sample=10)
    (OUT / "rollback-resume.json").write_text(json.dumps(results))
