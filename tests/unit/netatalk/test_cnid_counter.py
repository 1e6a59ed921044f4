"""Raising the rootinfo counter of a Berkeley DB cnid2.db with the db5.3 tools (skipped where they are missing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from zfstm.errors import CnidDatabaseError
from zfstm.netatalk.bdbdump import DumpedDatabase, format_dump
from zfstm.netatalk.cnid import CnidRecord, EntryType, RootInfo, encode_record, encode_rootinfo
from zfstm.netatalk.cnid_counter import copy_database, raise_counter, read_counter, reset_database
from zfstm.netatalk.cnid_records import devino_index, remap_index, repoint_records, with_counter
from zfstm.netatalk.cniddb import read_cnid_database

needs_tools = pytest.mark.skipif(shutil.which("db5.3_load") is None, reason="db5.3-util is not installed")


def build_db(directory: Path, last: int = 40, dev: int = 0) -> None:
    """A cnid2.db with netatalk's four sub-databases, 24 file records and a rootinfo counter of ``last``."""
    key, data = encode_rootinfo(RootInfo(stamp=b"\x01" * 8, last_cnid=last, version=1))
    pairs = [(key, data)] + [
        encode_record(CnidRecord(c, dev, 1000 + c, EntryType.FILE, 2, f"f{c}")) for c in range(17, 41)
    ]
    subs = {
        "cnid2.db": pairs,
        "devino.db": [(d[4:20], k) for k, d in pairs],
        "didname.db": [(d[24:], k) for k, d in pairs],
        "name.db": [(b"f17", b"\0\0\0\x11")],
    }
    for name, entries in subs.items():
        header = [("VERSION", "3"), ("format", "bytevalue"), ("database", name), ("type", "btree")]
        if name == "name.db":
            header += [("duplicates", "1"), ("dupsort", "1")]
        text = format_dump(DumpedDatabase(tuple(header), tuple(sorted(entries))))
        subprocess.run(["db5.3_load", str(directory / "cnid2.db")], input=text, text=True, check=True)


def test_with_counter_changes_only_the_counter_bytes() -> None:
    """The rewritten rootinfo differs from the old one only in bytes 20..23 (which no secondary index covers)."""
    key, data = encode_rootinfo(RootInfo(stamp=b"\x02" * 8, last_cnid=40, version=1))
    raised = with_counter(DumpedDatabase((("format", "bytevalue"),), ((key, data),)), 99)
    new = raised.pairs[0][1]
    assert [i for i in range(len(data)) if data[i] != new[i]] == [23] and new[20:24] == (99).to_bytes(4, "big")


@needs_tools
def test_counter_is_raised_never_lowered_and_records_survive(tmp_path: Path) -> None:
    """raise_counter sets the counter to the minimum when it is lower, keeps every record and sub-database,
    removes the environment files, and never lowers it."""
    build_db(tmp_path)
    (tmp_path / "__db.001").write_bytes(b"stale region")
    (tmp_path / "db_param").write_text("cachesize 1024\n")
    assert read_counter(tmp_path) == 40
    assert raise_counter(tmp_path, 1000) == (40, 1000, 0)
    db = read_cnid_database(tmp_path)
    assert db.rootinfo is not None and db.rootinfo.last_cnid == 1000 and db.rootinfo.stamp == b"\x01" * 8
    assert len(db.records) == 24
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnid2.db", "db_param"]
    assert raise_counter(tmp_path, 500) == (1000, 1000, 0)
    assert read_counter(tmp_path) == 1000


@needs_tools
def test_reset_removes_database_and_disposable_files_only(tmp_path: Path) -> None:
    """The last-resort reset deletes cnid2.db and lock/log/__db files but keeps db_param and db_errlog."""
    build_db(tmp_path)
    for name in ("lock", "log.0000000001", "__db.001", "db_param", "db_errlog"):
        (tmp_path / name).write_text("x")
    assert reset_database(tmp_path) == ["__db.001", "cnid2.db", "lock", "log.0000000001"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db_errlog", "db_param"]


@needs_tools
def test_records_are_repointed_at_the_new_st_dev_with_their_index(tmp_path: Path) -> None:
    """With a new st_dev every file record of the old dev carries the new one, the devino index is rebuilt to the
    new keys (so cnid_dbd finds each file by dev/ino AND did/name and keeps its CNID), CNIDs are unchanged."""
    build_db(tmp_path, dev=0x2D)
    before, after, moved = raise_counter(tmp_path, 50, new_dev=0x31)
    assert (before, after, moved) == (40, 50, 24)
    db = read_cnid_database(tmp_path)
    assert {r.dev for r in db.records} == {0x31} and [r.cnid for r in db.records] == list(range(17, 41))
    index = subprocess.run(["db5.3_dump", "-s", "devino.db", str(tmp_path / "cnid2.db")], capture_output=True,
                           text=True, check=True).stdout  # fmt: skip
    assert (0x31).to_bytes(8, "big").hex() in index and (0x2D).to_bytes(8, "big").hex() not in index


def test_repointing_leaves_cnid_dev_no_volumes_alone() -> None:
    """Records stored with dev 0 (`cnid dev = no`) are not touched."""
    pairs = (encode_record(CnidRecord(17, 0, 5, EntryType.FILE, 2, "a")),)
    primary = DumpedDatabase((("format", "bytevalue"),), pairs)
    assert repoint_records(primary, 0x31) == (primary, {})


def _dump(directory: Path, name: str) -> str:
    return subprocess.run(["db5.3_dump", "-s", name, str(directory / "cnid2.db")], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


@needs_tools
def test_sub_databases_that_do_not_change_are_copied_byte_for_byte(tmp_path: Path) -> None:
    """didname.db and name.db go from the dump tool straight into the load tool: their dumps are unchanged."""
    build_db(tmp_path, dev=0x2D)
    before = {name: _dump(tmp_path, name) for name in ("didname.db", "name.db")}
    raise_counter(tmp_path, 50, new_dev=0x31)
    assert {name: _dump(tmp_path, name) for name in before} == before


@needs_tools
def test_the_counter_is_read_without_a_rootinfo_or_from_a_broken_file(tmp_path: Path) -> None:
    """No rootinfo record: None (nothing to raise from); a file the dump tool cannot read: an error naming it."""
    record = encode_record(CnidRecord(17, 0, 5, EntryType.FILE, 2, "a"))
    header = (("VERSION", "3"), ("format", "bytevalue"), ("database", "cnid2.db"), ("type", "btree"))
    text = format_dump(DumpedDatabase(header, (record,)))
    subprocess.run(["db5.3_load", str(tmp_path / "cnid2.db")], input=text, text=True, check=True)
    assert read_counter(tmp_path) is None
    (tmp_path / "cnid2.db").write_bytes(b"not a database" * 100)
    with pytest.raises(CnidDatabaseError, match=r"cnid2\.db"):
        read_counter(tmp_path)


def test_the_rebuilt_index_is_the_remapped_one() -> None:
    """devino.db built from the re-pointed records equals the old index with its keys remapped; an inconsistent
    database (two records with one dev/ino) gets no rebuilt index, so the old one is remapped instead."""
    key, data = encode_rootinfo(RootInfo(stamp=b"\x01" * 8, last_cnid=40, version=1))
    pairs = [(key, data)] + [
        encode_record(CnidRecord(c, 0x2D, 1000 + c, EntryType.FILE, 2, f"f{c}")) for c in range(17, 30)
    ]
    primary = DumpedDatabase((("format", "bytevalue"),), tuple(pairs))
    old_index = DumpedDatabase((("format", "bytevalue"),), tuple(sorted((d[4:20], k) for k, d in pairs)))
    repointed, moved = repoint_records(primary, 0x31)
    rebuilt = devino_index(repointed)
    assert rebuilt is not None and len(moved) == 13
    assert rebuilt.pairs == remap_index(old_index, moved).pairs
    twin = encode_record(CnidRecord(99, 0x2D, 1017, EntryType.FILE, 3, "twin"))
    assert devino_index(DumpedDatabase((), (*pairs, twin))) is None


@needs_tools
def test_a_rewrite_that_does_not_count_right_replaces_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the new file's item counts differ from what was written, cnid2.db stays as it was."""
    from zfstm.netatalk import cnid_counter

    build_db(tmp_path, dev=0x2D)
    before = (tmp_path / "cnid2.db").read_bytes()
    real = cnid_counter._count
    monkeypatch.setattr(
        cnid_counter, "_count", lambda f, n: 1 + (real(f, n) or 0) if f.name.endswith("new") else real(f, n)
    )
    with pytest.raises(CnidDatabaseError, match="nothing was replaced"):
        raise_counter(tmp_path, 50, new_dev=0x31)
    assert (tmp_path / "cnid2.db").read_bytes() == before
    assert not (tmp_path / "cnid2.db.zfstm-new").exists()


@needs_tools
def test_raising_only_the_counter_changes_nothing_else(tmp_path: Path) -> None:
    """Without re-pointing (cnid dev = no, in-place rollback) the copy-and-overwrite path changes the rootinfo's
    counter and nothing else: every other record and every index read back as before."""
    build_db(tmp_path, dev=0x2D)
    before = {name: _dump(tmp_path, name) for name in ("cnid2.db", "devino.db", "didname.db", "name.db")}
    assert raise_counter(tmp_path, 77) == (40, 77, 0)
    after = {name: _dump(tmp_path, name) for name in before}
    assert {n: t for n, t in after.items() if n != "cnid2.db"} == {n: t for n, t in before.items() if n != "cnid2.db"}
    changed = [(a, b) for a, b in zip(before["cnid2.db"].splitlines(), after["cnid2.db"].splitlines(), strict=True)
               if a != b]  # fmt: skip
    assert len(changed) == 1 and changed[0][1].endswith(
        (77).to_bytes(4, "big").hex() + "00000001" + "526f6f74496e666f00"
    )
    assert read_counter(tmp_path) == 77


@needs_tools
def test_a_failed_dump_while_copying_leaves_no_new_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unchanged sub-databases are copied while the primary is dumped; when that dump fails, the copy is waited
    for and its half-built file removed, and cnid2.db is untouched."""
    from zfstm.netatalk import cnid_counter

    build_db(tmp_path, dev=0x2D)
    before = (tmp_path / "cnid2.db").read_bytes()

    def broken(db_file: Path, subdb: str) -> None:
        raise CnidDatabaseError(f"{db_file}: dump of {subdb} failed")

    monkeypatch.setattr(cnid_counter, "_dump", broken)
    with pytest.raises(CnidDatabaseError, match=r"dump of cnid2\.db failed"):
        raise_counter(tmp_path, 50, new_dev=0x31)
    assert (tmp_path / "cnid2.db").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnid2.db"]


@needs_tools
def test_prepared_work_is_used_only_while_the_directory_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What was prepared before the share's new st_dev was known is used when nothing changed since (no second
    dump), and redone when anything in the directory changed; either way every record ends re-pointed."""
    from zfstm.netatalk import cnid_counter

    dumps: list[str] = []
    real = cnid_counter._dump

    def counted(db_file: Path, name: str) -> DumpedDatabase:
        dumps.append(name)
        return real(db_file, name)

    monkeypatch.setattr(cnid_counter, "_dump", counted)
    for touch, expected_dumps in ((False, 1), (True, 2)):
        build_db(tmp_path, dev=0x2D)
        dumps.clear()
        prepared = cnid_counter.prepare_repoint(tmp_path)
        if touch:
            (tmp_path / "log.0000000001").write_bytes(b"")
        assert raise_counter(tmp_path, 50, new_dev=0x31, prepared=prepared) == (40, 50, 24)
        assert len(dumps) == expected_dumps
        assert {r.dev for r in read_cnid_database(tmp_path).records} == {0x31}
        for entry in tmp_path.iterdir():
            entry.unlink()


@needs_tools
def test_the_tool_ops_prepare_in_the_background_and_the_raise_picks_it_up(tmp_path: Path) -> None:
    from zfstm.rollback.execute import ToolCnidOps

    build_db(tmp_path, dev=0x2D)
    ops = ToolCnidOps()
    ops.prepare(str(tmp_path), repoint=True)
    ops.settle()
    assert (tmp_path / "cnid2.db.zfstm-new").is_file()  # didname.db and name.db copied already
    assert ops.raise_counter(str(tmp_path), 50, str(tmp_path)) == (40, 50, 24)
    assert {r.dev for r in read_cnid_database(tmp_path).records} == {tmp_path.stat().st_dev}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnid2.db"]


@needs_tools
def test_the_counter_alone_is_prepared_too_and_a_prepared_repoint_is_not_taken_for_it(tmp_path: Path) -> None:
    """cnid dev = no: the standalone copy is prepared early and only the rootinfo record is overwritten in it; work
    prepared for re-pointing is not used for the counter alone (nor the other way round)."""
    from zfstm.netatalk import cnid_counter

    build_db(tmp_path)
    prepared = cnid_counter.prepare(tmp_path, repoint=False)
    assert prepared.copied == {"cnid2.db": 25, "devino.db": 25, "didname.db": 25, "name.db": 1}
    assert raise_counter(tmp_path, 77, prepared=prepared) == (40, 77, 0)
    assert read_cnid_database(tmp_path).rootinfo == RootInfo(stamp=b"\x01" * 8, last_cnid=77, version=1)
    wrong = cnid_counter.prepare(tmp_path, repoint=True)
    assert raise_counter(tmp_path, 90, prepared=wrong) == (77, 90, 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnid2.db"]


@needs_tools
def test_copy_database_keeps_every_record_and_the_counter_and_stands_alone(tmp_path: Path) -> None:
    """cnid migrate's copy: the records and the counter of the old place, the old files left, no environment file
    of the old place at the new one; a place without a database is refused."""
    old, new = tmp_path / "old", tmp_path / "new" / ".AppleDB"
    old.mkdir()
    build_db(old, last=77, dev=5)
    (old / "log.0000000001").write_bytes(b"")
    counter, counts = copy_database(old, new)
    assert counter == 77 and counts["cnid2.db"] == 25
    assert read_cnid_database(new) == read_cnid_database(old)
    assert sorted(p.name for p in new.iterdir()) == ["cnid2.db"]
    assert (old / "cnid2.db").is_file()
    with pytest.raises(CnidDatabaseError, match="no CNID database to copy"):
        copy_database(tmp_path / "nothing", tmp_path / "elsewhere")
