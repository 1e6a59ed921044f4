"""`zfstm cnid check` end to end on the host, with a stand-in for db5.3_dump (zfstm.cli.cnid)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from zfstm.cli.main import main
from zfstm.netatalk.bdbdump import DumpedDatabase, format_dump
from zfstm.netatalk.cnid import CnidRecord, EntryType, RootInfo, encode_record, encode_rootinfo
from zfstm.netatalk.metadata_ea import MetadataEa, encode_metadata_ea

# A stand-in for db5.3_dump: `-l FILE` lists sub-databases; `-s NAME FILE` prints FILE, which holds the dump text;
# a file starting with "CORRUPT" makes it fail like the real tool on a damaged database.
FAKE_TOOL = f"""#!{sys.executable}
import sys
path = sys.argv[-1]
data = open(path).read()
if data.startswith("CORRUPT"):
    print("db5.3_dump: BDB0004 fop_read_meta: {{path}}: unexpected file type or format", file=sys.stderr)
    sys.exit(1)
if sys.argv[1] == "-l":
    print("cnid2.db\\ndevino.db\\ndidname.db\\nname.db")
else:
    sys.stdout.write(data)
"""


@pytest.fixture
def volume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A volume with two files, a database dump describing them, afp.conf, and the stand-in tool on PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "db5.3_dump"
    tool.write_text(FAKE_TOOL)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    vol = tmp_path / "tm"
    vol.mkdir()
    pairs = [encode_rootinfo(RootInfo(stamp=b"\0" * 8, last_cnid=18, version=1))]
    for cnid, name in ((17, "a"), (18, "b")):
        f = vol / name
        f.write_bytes(b"data")
        st = f.stat()
        pairs.append(encode_record(CnidRecord(cnid, st.st_dev, st.st_ino, EntryType.FILE, 2, name)))
        try:
            os.setxattr(
                f, "user.org.netatalk.Metadata", encode_metadata_ea(MetadataEa(cnid, st.st_dev, st.st_ino, b"\0" * 8))
            )
        except OSError:
            pytest.skip("no user xattrs on this filesystem")
    dbdir = tmp_path / "cnid" / "tm" / ".AppleDB"
    dbdir.mkdir(parents=True)
    header = (("VERSION", "3"), ("format", "bytevalue"), ("database", "cnid2.db"), ("type", "btree"))
    (dbdir / "cnid2.db").write_text(format_dump(DumpedDatabase(header=header, pairs=tuple(pairs))))
    (tmp_path / "afp.conf").write_text(f"[Global]\nvol dbpath = {tmp_path}/cnid/$v/\n[TM]\npath = {vol}\n")
    return vol


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*")}


def test_healthy_volume_json(volume: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A consistent volume checks healthy (exit 0) by volume name, and nothing on disk changes."""
    before = snapshot(volume.parent)
    assert main(["cnid", "check", "tm", "--afp-conf", str(volume.parent / "afp.conf"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["healthy"] and out["records"] == 2 and out["entries"] == 2 and out["last_cnid"] == 18
    assert snapshot(volume.parent) == before


def test_deleted_file_is_found_by_path(volume: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Deleting a file behind netatalk's back makes the check fail (exit 1) with a 'missing' example, table output."""
    (volume / "b").unlink()
    assert main(["cnid", "check", str(volume / "a"), "--afp-conf", str(volume.parent / "afp.conf")]) == 1
    out = capsys.readouterr().out
    assert "missing" in out and "18 b" in out and "1 problem(s) found" in out


def test_corrupt_database_is_a_clear_error(volume: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A database the dump tool cannot read gives exit 10 and a message naming the file; nothing is changed."""
    db = volume.parent / "cnid" / "tm" / ".AppleDB" / "cnid2.db"
    db.write_text("CORRUPT")
    before = snapshot(volume.parent)
    assert main(["cnid", "check", "tm", "--afp-conf", str(volume.parent / "afp.conf")]) == 10
    err = capsys.readouterr().err
    assert str(db) in err and "Nothing was changed" in err
    assert snapshot(volume.parent) == before


def test_unreadable_afp_conf_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing afp.conf gives exit 6 naming the file."""
    assert main(["cnid", "check", "tm", "--afp-conf", str(tmp_path / "nope.conf")]) == 6
    assert "nope.conf" in capsys.readouterr().err


def test_unknown_volume_is_a_usage_error(volume: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A name that is no volume and a path outside every volume give exit 2 listing the volumes."""
    assert main(["cnid", "check", "/elsewhere", "--afp-conf", str(volume.parent / "afp.conf")]) == 2
    assert "tm (" in capsys.readouterr().err


def test_refuses_while_cnid_dbd_holds_the_database(volume: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """While a process holds .AppleDB/lock (cnid_dbd), the check refuses with exit 10 naming the pid; --live reads
    anyway."""
    import fcntl
    import time

    lock = volume.parent / "cnid" / "tm" / ".AppleDB" / "lock"
    lock.write_bytes(b"")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        fd = os.open(lock, os.O_RDWR)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        os.write(write_end, b"x")
        time.sleep(30)
        os._exit(0)
    try:
        os.read(read_end, 1)
        conf = str(volume.parent / "afp.conf")
        assert main(["cnid", "check", "tm", "--afp-conf", conf]) == 10
        assert f"pid {pid}" in capsys.readouterr().err
        assert main(["cnid", "check", "tm", "--afp-conf", conf, "--live", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["cnid_dbd_pid"] == pid
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
