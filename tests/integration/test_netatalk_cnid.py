"""Real netatalk 4.2.3 on real ZFS: zfstm reads the CNIDs netatalk wrote (database and EAs) and finds stale records.

The server, its CNID database and its EAs are the real ones; the tree is created over AFP by the small client in
tests/integration/afpclient.py (what a Mac would do: FPCreateDir, FPCreateFile, FPOpenFork/FPWriteExt), then
changed behind netatalk's back (delete, rename, restore from a snapshot, zfs rollback). The tests share one served
volume and run in file order.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from zfstm.cli.main import main
from zfstm.errors import CnidDatabaseError, MetadataEaError
from zfstm.netatalk.afpconf import parse_afp_conf
from zfstm.netatalk.appledb import list_appledb, probe_lock
from zfstm.netatalk.check import Finding, check_volume, record_paths
from zfstm.netatalk.cniddb import read_cnid_database
from zfstm.netatalk.metadata_ea import (
    MetadataEa,
    decode_metadata_ea,
    encode_metadata_ea,
)
from zfstm.netatalk.scan import read_metadata_ea, read_raw_metadata_ea, scan_volume
from zfstm.testbed.afpclient import ERR_ID_NOT_FOUND, AfpClient, AfpError
from zfstm.testbed.guest_netatalk import AFP_CONF, afp_conf_text, wait_listening

pytestmark = pytest.mark.integration

POOL = os.environ.get("ZFSTM_TESTBED_POOL", "tank")
OUT = Path(os.environ.get("ZFSTM_TESTBED_OUT", "/tmp/work/out"))
VOL_PATH = Path(f"/{POOL}/tm")
DB_DIR = Path(f"/{POOL}/cnid/tm/.AppleDB")
BANDS = 1500
FOLDERS = 25
FILES_PER_FOLDER = 20
DAEMONS = ("netatalk", "afpd", "cnid_metad", "cnid_dbd")


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check)


def running_daemons() -> list[str]:
    found = run("pgrep", "-l", "-x", "|".join(DAEMONS), check=False).stdout.split()
    return [w for w in found if not w.isdigit()]


def start_netatalk() -> float:
    """Start the real server and wait until it accepts AFP connections; returns the seconds it took."""
    t0 = time.monotonic()
    run("netatalk")
    wait_listening(60)
    return time.monotonic() - t0


def stop_netatalk() -> float:
    """Stop the master and wait until no afpd/cnid_metad/cnid_dbd is left and nobody holds the database lock."""
    t0 = time.monotonic()
    run("pkill", "-TERM", "-x", "netatalk", check=False)
    while time.monotonic() - t0 < 60:
        if not running_daemons() and probe_lock(DB_DIR) is None:
            return time.monotonic() - t0
        time.sleep(0.2)
    raise AssertionError(f"still running after 60 s: {running_daemons()}")


def read_ea(path: Path) -> MetadataEa:
    ea = read_metadata_ea(path)
    assert ea is not None, f"{path} has no metadata EA"
    return ea


DBD_REPORTS = {
    # "CNID mismatch ..., ad-file: 0" follows "Bad CNID" when the EA's hint no longer fits the file: count it as bad.
    "mismatch": re.compile(r"CNID mismatch for '(?P<path>[^']+)', CNID db: \d+, ad-file: (?P<ad>[1-9]\d*)"),
    "bad": re.compile(r"Bad CNID in adouble file of '(?P<path>[^']+)'"),
    "no-cnid": re.compile(r"No CNID for '(?P<path>[^']+)'"),
}


def dbd_findings(output: str) -> dict[str, set[str]]:
    """What `dbd -s` complained about, by kind, as paths relative to the volume."""
    found: dict[str, set[str]] = {k: set() for k in DBD_REPORTS}
    for kind, pattern in DBD_REPORTS.items():
        for m in pattern.finditer(output):
            found[kind].add(os.path.relpath(m.group("path"), VOL_PATH))
    return found


def dbd_scan() -> str:
    """`dbd -s -v` (scan only, verbose); netatalk must be running because dbd talks to cnid_metad."""
    done = run("dbd", "-s", "-v", str(VOL_PATH), check=False)
    return done.stdout + done.stderr


@attrs.frozen
class Served:
    """What the AFP client created: every path (relative to the volume) with the CNID the server returned."""

    volume_name: str
    cnids: dict[str, int]
    seconds_to_create: float


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    OUT.mkdir(parents=True, exist_ok=True)
    run("zfs", "create", f"{POOL}/tm")
    run("zfs", "create", f"{POOL}/cnid")
    shutil.chown(VOL_PATH, user="tmuser", group=run("id", "-gn", "tmuser").stdout.strip())
    AFP_CONF.write_text(afp_conf_text(POOL))
    start_netatalk()
    cnids: dict[str, int] = {}
    with AfpClient() as afp:
        afp.login("tmuser", "tmpass")
        names = afp.volume_names()
        name = next(n for n in names if n.lower() == "tm")
        vol = afp.open_volume(name)
        t0 = time.monotonic()
        bundle = afp.create_dir(vol, 2, "mac.sparsebundle")
        cnids["mac.sparsebundle"] = bundle
        for leaf in ("Info.plist", "Info.bckup", "token"):
            cnids[f"mac.sparsebundle/{leaf}"] = afp.write_file(vol, bundle, leaf, b"<plist/>\n")
        bands = afp.create_dir(vol, bundle, "bands")
        cnids["mac.sparsebundle/bands"] = bands
        for i in range(BANDS):
            cnids[f"mac.sparsebundle/bands/{i:x}"] = afp.write_file(vol, bands, f"{i:x}", bytes([i % 256]) * 512)
        for d in range(FOLDERS):
            folder = afp.create_dir(vol, 2, f"folder{d:02d}")
            cnids[f"folder{d:02d}"] = folder
            for f in range(FILES_PER_FOLDER):
                cnids[f"folder{d:02d}/file{f:02d}.txt"] = afp.write_file(vol, folder, f"file{f:02d}.txt", b"hello\n")
        seconds = time.monotonic() - t0
        afp.close_volume(vol)
        afp.logout()
    (OUT / "netatalk-created.json").write_text(json.dumps({"seconds": seconds, "objects": len(cnids)}))
    yield Served(volume_name=name, cnids=cnids, seconds_to_create=seconds)
    stop_netatalk()


def test_tree_was_created_over_afp_and_the_server_resolves_it(served: Served) -> None:
    """At least 2,000 files and directories exist, were given distinct CNIDs >= 17, and FPEnumerateExt2 and
    FPResolveID (what a Mac does with a remembered ID) agree with the IDs handed out at creation."""
    assert len(served.cnids) >= 2000
    assert len(set(served.cnids.values())) == len(served.cnids)
    assert min(served.cnids.values()) >= 17
    with AfpClient() as afp:
        afp.login("tmuser", "tmpass")
        vol = afp.open_volume(served.volume_name)
        listed = {e.name: e.node_id for e in afp.enumerate(vol, served.cnids["mac.sparsebundle/bands"])}
        assert listed == {
            p.rsplit("/", 1)[1]: c for p, c in served.cnids.items() if p.startswith("mac.sparsebundle/bands/")
        }
        for path in ("mac.sparsebundle/token", "mac.sparsebundle/bands/5db", "folder24/file19.txt"):
            entry = afp.resolve_id(vol, served.cnids[path])
            assert entry.name == path.rsplit("/", 1)[1] and entry.node_id == served.cnids[path]
        with pytest.raises(AfpError) as unknown:
            afp.resolve_id(vol, max(served.cnids.values()) + 1000)
        assert unknown.value.code == ERR_ID_NOT_FOUND
        afp.logout()


def test_lock_probe_sees_cnid_dbd_while_running(served: Served) -> None:
    """While netatalk serves the volume, cnid_dbd holds a write lock on .AppleDB/lock and the probe names its pid."""
    assert served.cnids
    holder = probe_lock(DB_DIR)
    assert holder is not None and holder.exclusive
    assert Path(f"/proc/{holder.pid}/comm").read_text().strip() == "cnid_dbd"
    listing = list_appledb(DB_DIR)
    assert listing.has_database and "lock" in listing.disposable and not listing.unknown
    live = read_cnid_database(DB_DIR)  # what the file says while cnid_dbd runs: recent changes are not in it
    (OUT / "db-while-running.json").write_text(
        json.dumps({"records_on_disk": len(live.records), "created": len(served.cnids), "files": listing.disposable})
    )
    assert len(live.records) < len(served.cnids)
    assert main(["cnid", "check", "tm", "--afp-conf", str(AFP_CONF)]) == 10  # refuses: cnid_dbd has it open


def test_database_and_eas_carry_the_cnids_the_server_handed_out(served: Served) -> None:
    """After netatalk stops, every created path has the same CNID in cnid2.db (read with db5.3_dump) and in its
    org.netatalk.Metadata EA; EA dev/ino match the file and its stamp matches rootinfo's."""
    stop_netatalk()
    db = read_cnid_database(DB_DIR)
    report = check_volume(db, scan_volume(VOL_PATH))
    paths, orphans = record_paths(db.records)
    by_path = {p: c for c, p in paths.items() if c != 2}
    assert orphans == []
    assert db.rootinfo is not None and db.rootinfo.version == 1
    assert db.rootinfo.last_cnid >= max(served.cnids.values())
    mismatched_db = {p for p, c in served.cnids.items() if by_path.get(p) != c}
    assert mismatched_db == set()
    for path, cnid in served.cnids.items():
        ea = read_metadata_ea(VOL_PATH / path)
        st = (VOL_PATH / path).stat()
        assert ea is not None, path
        assert (ea.cnid, ea.ino, ea.dev) == (cnid, st.st_ino, st.st_dev), path
        assert ea.stamp == db.rootinfo.stamp, path
    assert report.healthy, report.counts
    sample = VOL_PATH / "mac.sparsebundle/bands/a"
    raw = read_raw_metadata_ea(sample)
    assert raw is not None
    (OUT / "ea-band-a.hex").write_text(raw.hex() + "\n")
    dump = run("db5.3_dump", "-s", "cnid2.db", str(DB_DIR / "cnid2.db"))
    (OUT / "cnid2-dump.txt").write_text(dump.stdout)
    (OUT / "appledb-after-stop.txt").write_text("\n".join(sorted(p.name for p in DB_DIR.iterdir())) + "\n")
    assert list_appledb(DB_DIR).disposable == ("lock", "log.0000000001")  # __db.* go away on a clean stop
    (OUT / "rootinfo.json").write_text(json.dumps({"last_cnid": db.rootinfo.last_cnid, "records": len(db.records)}))


def _fingerprint(paths: list[Path]) -> dict[str, tuple[str, int]]:
    out = {}
    for p in paths:
        out[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
    return out


def test_cnid_check_is_healthy_read_only_and_agrees_with_dbd(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """`zfstm cnid check tm` reports a healthy volume, changes no byte of the database, and `dbd -s` on the same
    volume reports nothing to fix either."""
    assert served.cnids
    watched = sorted(p for p in DB_DIR.iterdir() if p.is_file())
    sample = VOL_PATH / "mac.sparsebundle/bands/a"
    before = _fingerprint(watched), read_raw_metadata_ea(sample), sample.stat().st_ctime_ns
    assert main(["cnid", "check", "tm", "--afp-conf", str(AFP_CONF), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["healthy"] and result["entries"] == len(served.cnids)
    assert result["records"] >= len(served.cnids)
    after = _fingerprint(sorted(p for p in DB_DIR.iterdir() if p.is_file())), read_raw_metadata_ea(sample)
    assert after == before[:2] and sample.stat().st_ctime_ns == before[2]
    start_netatalk()
    scan = dbd_scan()
    (OUT / "dbd-s-healthy.txt").write_text(scan)
    stop_netatalk()
    assert dbd_findings(scan) == {k: set() for k in DBD_REPORTS}, scan
    assert not re.search(r"(?i)(error|mismatch|inconsisten|bad cnid)", scan), scan


def test_changes_behind_netatalks_back_are_found(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    """Delete, rename, restore-from-snapshot (new inode, copied EA) and a zfs rollback of files created after the
    snapshot all show up as stale records (and EA findings), exactly as planted."""
    run("zfs", "snapshot", f"{POOL}/tm@good")
    start_netatalk()
    with AfpClient() as afp:
        afp.login("tmuser", "tmpass")
        vol = afp.open_volume(served.volume_name)
        late = afp.create_dir(vol, 2, "after-snapshot")
        late_ids = [afp.write_file(vol, late, f"late{i}", b"new") for i in range(30)]
        afp.logout()
    stop_netatalk()
    run("zfs", "rollback", f"{POOL}/tm@good")  # the 31 objects created after the snapshot are gone from disk
    bands = VOL_PATH / "mac.sparsebundle/bands"
    for name in ("10", "11", "12"):
        (bands / name).unlink()  # deleted behind netatalk's back
    (bands / "20").rename(bands / "20-renamed")
    (bands / "21").rename(bands / "21-renamed")
    (bands / "30").unlink()  # restored from the snapshot: a new inode with the old EA copied along
    run("cp", "-a", f"/{POOL}/tm/.zfs/snapshot/good/mac.sparsebundle/bands/30", str(bands / "30"))
    # A valid EA (right dev/ino/stamp) that caches another file's CNID: what dbd -s calls a "CNID mismatch".
    victim = VOL_PATH / "folder03/file05.txt"
    forged = attrs.evolve(read_ea(victim), cnid=served.cnids["folder03/file06.txt"])
    os.setxattr(victim, "user.org.netatalk.Metadata", encode_metadata_ea(forged))

    db = read_cnid_database(DB_DIR)
    report = check_volume(db, scan_volume(VOL_PATH))
    counts = {f.value: n for f, n in report.counts.items()}
    (OUT / "check-planted.json").write_text(json.dumps(counts, indent=2))
    assert counts.get("missing") == 31 + 3 + 2
    assert counts.get("devino-mismatch") == 1 and counts.get("ea-stale-hint") == 1
    assert counts.get("untracked") == 2 and counts.get("ea-mismatch") == 3 and counts.get("ea-duplicate") == 2
    missing = {p.cnid for p in report.problems if p.finding is Finding.MISSING}
    assert set(late_ids) <= missing
    assert {served.cnids[f"mac.sparsebundle/bands/{n}"] for n in ("10", "11", "12", "20", "21")} <= missing
    assert main(["cnid", "check", str(VOL_PATH), "--afp-conf", str(AFP_CONF)]) == 1
    table = capsys.readouterr().out
    assert "missing" in table and "36" in table

    start_netatalk()
    scan = dbd_scan()
    (OUT / "dbd-s-planted.txt").write_text(scan)
    stop_netatalk()
    ours = {
        "mismatch": {p.path for p in report.problems if p.finding is Finding.EA_MISMATCH},
        "bad": {p.path for p in report.problems if p.finding in (Finding.EA_STALE_HINT, Finding.EA_INVALID)},
    }
    theirs = dbd_findings(scan)
    (OUT / "dbd-vs-zfstm.json").write_text(
        json.dumps({k: {"dbd": sorted(v), "zfstm": sorted(ours.get(k, set()))} for k, v in theirs.items()}, indent=2)
    )
    # dbd -s and zfstm agree on the EA findings; zfstm also sees what dbd cannot: the 36 deleted or rolled-back
    # files (dbd walks the disk only) and the two renames (dbd -s silently renames the records, see docs).
    assert (
        theirs["mismatch"]
        == {"folder03/file05.txt"}
        == ours["mismatch"]
        - {
            "mac.sparsebundle/bands/20-renamed",
            "mac.sparsebundle/bands/21-renamed",
        }
    )
    assert theirs["bad"] == ours["bad"] == {"mac.sparsebundle/bands/30"}
    assert theirs["no-cnid"] == set()


def test_bad_input_gives_clear_errors_and_changes_nothing(served: Served, tmp_path: Path) -> None:
    """A truncated copy of the real cnid2.db is refused by name, and an EA of the wrong size is refused; neither
    file changes."""
    assert served.cnids
    bad = tmp_path / ".AppleDB"
    bad.mkdir()
    real = (DB_DIR / "cnid2.db").read_bytes()
    (bad / "cnid2.db").write_bytes(real[: len(real) // 3])
    digest = hashlib.sha256((bad / "cnid2.db").read_bytes()).hexdigest()
    with pytest.raises(CnidDatabaseError, match=r"cnid2\.db"):
        read_cnid_database(bad)
    assert hashlib.sha256((bad / "cnid2.db").read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in bad.iterdir()) == ["cnid2.db"]

    victim = tmp_path / "file"
    victim.write_bytes(b"x")
    raw = read_raw_metadata_ea(VOL_PATH / "folder00/file00.txt")
    assert raw is not None
    os.setxattr(victim, "user.org.netatalk.Metadata", raw[:-1])
    with pytest.raises(MetadataEaError, match="401 bytes"):
        read_metadata_ea(victim)
    assert os.getxattr(victim, "user.org.netatalk.Metadata") == raw[:-1]
    assert decode_metadata_ea(raw).cnid == served.cnids["folder00/file00.txt"]


def test_afp_conf_model_matches_what_netatalk_did(served: Served) -> None:
    """zfstm's reading of the afp.conf used here names the volume and database directory netatalk really used."""
    conf = parse_afp_conf(AFP_CONF.read_text(), str(AFP_CONF))
    (vol,) = conf.volumes
    assert vol.db_dir == str(DB_DIR) and DB_DIR.is_dir()
    assert vol.path == str(VOL_PATH) and vol.time_machine
    assert served.volume_name.lower() == vol.name.lower()


def test_seen_facts_are_recorded(served: Served) -> None:
    """Record the version strings and cnid_dbd's wipe command seen in this testbed for docs/netatalk.md."""
    version = run("afpd", "-V", check=False)
    strings = run("sh", "-c", "strings /usr/sbin/cnid_dbd | grep -E '^rm -f'", check=False)
    (OUT / "netatalk-facts.txt").write_text(
        f"volume name over AFP: {served.volume_name}\n{version.stdout}{version.stderr}\nwipe: {strings.stdout}"
    )
    assert "rm -f cnid2.db lock log.* __db.*" in strings.stdout
