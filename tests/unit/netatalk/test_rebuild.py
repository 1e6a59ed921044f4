"""Rebuilding a volume's CNID records after a rollback (zfstm.netatalk.rebuild): which CNID each file gets back,
and that no CNID is ever handed out twice. Then the same against a real cnid2.db with the db5.3 tools."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.netatalk.test_check import DEV, STAMP, healthy_volume
from tests.unit.rollback.world import facts_of, make_world
from zfstm.netatalk.bdbdump import DumpedDatabase, format_dump, parse_dump
from zfstm.netatalk.check import FsEntry, VolumeScan, check_volume
from zfstm.netatalk.cnid import (
    ROOTINFO_KEY,
    CnidDatabase,
    CnidRecord,
    EntryType,
    RootInfo,
    encode_record,
    encode_rootinfo,
)
from zfstm.netatalk.cnid_counter import rebuild_database
from zfstm.netatalk.cniddb import read_cnid_database
from zfstm.netatalk.metadata_ea import MetadataEa, encode_metadata_ea
from zfstm.netatalk.rebuild import highest_handed_out, rebuild_records
from zfstm.netatalk.scan import scan_volume
from zfstm.rollback.facts import forecast_cnids
from zfstm.rollback.model import CnidStrategy, RollbackRequest
from zfstm.rollback.planner import plan_rollback

NEW_DEV = 99


def test_unchanged_volume_keeps_every_cnid_and_moves_to_the_new_dev() -> None:
    """Every entry keeps its CNID (from its EA); records carry the share's new dev; the counter stays at the mark."""
    db, scan = healthy_volume()
    mark = highest_handed_out(db)
    done = rebuild_records(db, scan, mark=mark, dev=NEW_DEV)
    assert {(r.cnid, r.ino, r.did, r.name) for r in done.records} == {
        (r.cnid, r.ino, r.did, r.name) for r in db.records
    }
    assert {r.dev for r in done.records} == {NEW_DEV}
    assert done.counter == mark and done.new == () and done.skipped == () and done.dropped == 0
    assert done.from_ea == len(db.records)


def test_the_snapshot_ea_wins_over_a_newer_file_of_the_same_name() -> None:
    """A file deleted after the snapshot and created again (new CNID) comes back with its snapshot-time CNID, and
    the newer file's CNID is dropped, never handed to anything else."""
    db, scan = healthy_volume(1, 2)
    old = next(r for r in db.records if r.name == "f0")
    newer = attrs.evolve(old, cnid=500, ino=900)  # what the live database says about dir0/f0 now
    live = CnidDatabase(
        rootinfo=RootInfo(STAMP, 500, 1), records=(*(r for r in db.records if r.cnid != old.cnid), newer)
    )
    done = rebuild_records(live, scan, mark=500, dev=NEW_DEV)
    assert next(r for r in done.records if r.name == "f0").cnid == old.cnid
    assert 500 not in {r.cnid for r in done.records} and done.dropped == 1 and done.counter == 500


def test_entries_without_ea_keep_their_live_record_or_get_a_new_cnid_above_the_mark() -> None:
    """No EA: the live record with the same parent, name and inode gives the CNID; without one (a file written
    locally, never seen over AFP) the entry gets a new CNID above the mark, and the result says so."""
    db, scan = healthy_volume(1, 2)
    stripped = tuple(attrs.evolve(e, ea=None) for e in scan.entries)
    local = FsEntry("dir0/local", DEV, 777, False)
    done = rebuild_records(db, VolumeScan(scan.root, (*stripped, local)), mark=300, dev=NEW_DEV)
    assert done.from_record == len(db.records) and done.from_ea == 0
    assert done.new == ("dir0/local",)
    assert next(r for r in done.records if r.name == "local").cnid == 301 and done.counter == 301


def test_reset_gives_every_entry_a_new_cnid_above_the_mark() -> None:
    db, scan = healthy_volume()
    done = rebuild_records(db, scan, mark=1000, dev=0, use_hints=False)
    assert min(r.cnid for r in done.records) == 1001 and len(done.new) == len(db.records)


@st.composite
def volumes(draw: st.DrawFn) -> tuple[CnidDatabase, VolumeScan, int]:
    """A live database and a scan that disagree in every way a rollback allows: entries gone, new, renamed, with
    foreign, duplicated, stale or missing EAs, and records whose inode changed."""
    n = draw(st.integers(0, 25))
    entries = [FsEntry("", DEV, 2, True)]
    dirs = [""]
    records = []
    for i in range(n):
        parent = draw(st.sampled_from(dirs))
        path = f"{parent}/e{i}" if parent else f"e{i}"
        is_dir = draw(st.booleans())
        ino = draw(st.integers(3, 60))  # collisions on purpose: hard links, reused inodes
        ea = draw(
            st.none()
            | st.builds(MetadataEa, cnid=st.integers(0, 80), dev=st.just(DEV), ino=st.just(ino) | st.integers(3, 60),
                        stamp=st.just(STAMP))
        )  # fmt: skip
        entries.append(FsEntry(path, DEV, ino, is_dir, ea))
        if is_dir:
            dirs.append(path)
    for cnid in draw(st.sets(st.integers(17, 80), max_size=20)):
        records.append(
            CnidRecord(cnid, DEV, draw(st.integers(3, 60)), draw(st.sampled_from(EntryType)),
                       draw(st.sampled_from([2, *range(17, 40)])), f"e{draw(st.integers(0, 30))}")
        )  # fmt: skip
    counter = draw(st.integers(16, 90))
    db = CnidDatabase(rootinfo=RootInfo(STAMP, counter, 1), records=tuple(records))
    return db, VolumeScan("/vol", tuple(entries)), draw(st.integers(0, 100))


@given(volumes(), st.booleans())
def test_no_cnid_is_ever_reused_and_the_records_are_consistent(
    case: tuple[CnidDatabase, VolumeScan, int], hints: bool
) -> None:
    """Whatever the volume: CNIDs, inodes and (parent, name) are unique; every parent is a directory in the result;
    a CNID at or below the mark comes only from the entry's own EA or its own live record; the counter is above
    every CNID; and a second rebuild from the first one's database gives the same records (a resumed step)."""
    live, scan, journaled = case
    mark = max(journaled, highest_handed_out(live))
    done = rebuild_records(live, scan, mark=mark, dev=NEW_DEV, use_hints=hints)
    cnids = [r.cnid for r in done.records]
    assert len(set(cnids)) == len(cnids) and len({r.ino for r in done.records}) == len(cnids)
    assert len({(r.did, r.name) for r in done.records}) == len(cnids)
    assert done.counter >= mark and all(c <= done.counter for c in cnids)
    dirs = {2} | {r.cnid for r in done.records if r.type is EntryType.DIR}
    assert all(r.did in dirs for r in done.records)
    entries = {e.path: e for e in scan.entries}
    by_place = {(r.did, r.name): r for r in live.records}
    for r in done.records:
        if r.cnid <= mark:
            assert hints
            path = _path_of(r, done.records)
            entry = entries[path]
            own_ea = entry.ea is not None and entry.ea.cnid == r.cnid and entry.ea.ino == entry.ino
            own_record = by_place.get((r.did, r.name)) is not None and by_place[(r.did, r.name)].cnid == r.cnid
            assert own_ea or own_record, path
    assert len(done.records) + len(done.skipped) == len(scan.entries) - 1
    again = rebuild_records(
        CnidDatabase(RootInfo(STAMP, done.counter, 1), done.records), scan, mark=mark, dev=NEW_DEV, use_hints=hints
    )
    if hints:  # without hints a resumed run hands out new CNIDs again: higher ones, never reused
        assert again.records == done.records and again.counter == done.counter


def _path_of(record: CnidRecord, records: tuple[CnidRecord, ...]) -> str:
    by_cnid = {r.cnid: r for r in records}
    parts = [record.name]
    did = record.did
    while did != 2:
        parent = by_cnid[did]
        parts.append(parent.name)
        did = parent.did
    return "/".join(reversed(parts))


# -- against a real cnid2.db (the db5.3 tools) and a real directory tree with metadata EAs

needs_tools = pytest.mark.skipif(shutil.which("db5.3_load") is None, reason="db5.3-util is not installed")
EA_NAME = "user.org.netatalk.Metadata"


def _load(db_file: Path, records: list[CnidRecord], counter: int) -> None:
    """cnid2.db with its four sub-databases as netatalk's index callbacks make them (rootinfo indexed too)."""
    primary = [encode_rootinfo(RootInfo(STAMP, counter, 1)), *(encode_record(r) for r in records)]
    names = [(r.name.lower().encode(), r.cnid.to_bytes(4, "big")) for r in records] + [(b"rootinfo", ROOTINFO_KEY)]
    subs = {
        "cnid2.db": primary,
        "devino.db": [(d[4:20], k) for k, d in primary],
        "didname.db": [(d[24:], k) for k, d in primary],
        "name.db": names,
    }
    for name, pairs in subs.items():
        header = [("VERSION", "3"), ("format", "bytevalue"), ("database", name), ("type", "btree")]
        if name == "name.db":
            header += [("duplicates", "1"), ("dupsort", "1")]
        text = format_dump(DumpedDatabase(tuple(header), tuple(sorted(pairs))))
        subprocess.run(["db5.3_load", str(db_file)], input=text, text=True, check=True)


@needs_tools
def test_rebuild_database_writes_what_netatalk_indexes_and_keeps_the_snapshot_cnids(tmp_path: Path) -> None:
    """A share brought back to a snapshot (a file deleted since comes back with its EA; a file created since is gone;
    a locally written file has neither): the new cnid2.db has a record per entry with the share's dev, the EA's
    CNIDs, a new CNID above the mark for the local file, every index rebuilt (rootinfo included) and no
    environment files left; the check finds it healthy."""
    share, db_dir = tmp_path / "share", tmp_path / "AppleDB"
    share.mkdir()
    db_dir.mkdir()
    (share / "bundle").mkdir()
    dev = share.stat().st_dev
    cnid = {"bundle": 17, "bundle/Info.plist": 18, "bundle/0": 19, "bundle/1": 20}
    for path, number in cnid.items():
        target = share / path
        if not target.exists():
            target.write_bytes(b"x")
        st = target.stat()
        os.setxattr(target, EA_NAME, encode_metadata_ea(MetadataEa(number, 1234, st.st_ino, STAMP)))
    (share / "bundle/local").write_bytes(b"written on the server")
    # live database: bundle/1 deleted after the snapshot (no record), bundle/2 created after it (CNID 21)
    b = (share / "bundle").stat().st_ino
    live = [
        CnidRecord(17, 1234, b, EntryType.DIR, 2, "bundle"),
        CnidRecord(18, 1234, (share / "bundle/Info.plist").stat().st_ino, EntryType.FILE, 17, "Info.plist"),
        CnidRecord(19, 1234, (share / "bundle/0").stat().st_ino, EntryType.FILE, 17, "0"),
        CnidRecord(21, 1234, 999_999, EntryType.FILE, 17, "2"),
    ]
    _load(db_dir / "cnid2.db", live, counter=21)
    (db_dir / "log.0000000001").write_bytes(b"")  # an environment file that must not survive
    done = rebuild_database(db_dir, share, mark=21, dev=dev)
    assert done.counter == 22 and done.new == ("bundle/local",) and done.dropped == 1
    db = read_cnid_database(db_dir)
    assert {r.name: r.cnid for r in db.records} == {"bundle": 17, "Info.plist": 18, "0": 19, "1": 20, "local": 22}
    assert {r.dev for r in db.records} == {dev} and db.rootinfo == RootInfo(STAMP, 22, 1)
    assert not any(p.name.startswith(("log.", "__db.")) for p in db_dir.iterdir())
    for sub, expected in (("devino.db", 6), ("didname.db", 6), ("name.db", 6)):
        dumped = parse_dump(subprocess.run(["db5.3_dump", "-s", sub, str(db_dir / "cnid2.db")], capture_output=True,
                                           text=True, check=True).stdout)[0]  # fmt: skip
        assert len(dumped.pairs) == expected, sub
        assert ROOTINFO_KEY in {data for _, data in dumped.pairs}, sub
    scan_check = check_volume(db, scan_volume(share), cnid_dev=True)
    assert {f.value for f in scan_check.counts} <= {"ea-stale-hint", "no-ea"}, scan_check.counts
    again = rebuild_database(db_dir, share, mark=21, dev=dev)  # a resumed step: the same database
    assert read_cnid_database(db_dir) == db and again.counter == 22


@needs_tools
def test_the_plan_counts_the_cnids_that_will_change_before_anything_runs(tmp_path: Path) -> None:
    """The rebuild's forecast scans the snapshot (.zfs/snapshot/NAME) against the live database: a file written on
    the server (no EA, no record) is counted and named in the plan's warnings; nothing is written."""
    share, db_dir = tmp_path / "tm", tmp_path / "db" / ".AppleDB"
    snap = share / ".zfs" / "snapshot" / "s3"
    snap.mkdir(parents=True)
    db_dir.mkdir(parents=True)
    (snap / "seen").write_bytes(b"x")
    os.setxattr(snap / "seen", EA_NAME, encode_metadata_ea(MetadataEa(17, 1, (snap / "seen").stat().st_ino, STAMP)))
    (snap / "local").write_bytes(b"y")
    _load(db_dir / "cnid2.db", [CnidRecord(17, 1, 5, EntryType.FILE, 2, "seen")], counter=40)
    facts = facts_of(make_world())
    assert facts.cnid is not None
    facts = attrs.evolve(
        facts, data=attrs.evolve(facts.data, mountpoint=str(share)), cnid=attrs.evolve(facts.cnid, db_dir=str(db_dir))
    )
    plan = plan_rollback(facts, RollbackRequest("tm", to="s3"))
    before = sorted(p.name for p in db_dir.iterdir())
    told = forecast_cnids(plan, facts)
    assert any("1 of 2 files and directories will get a new CNID above 40" in w and "local" in w for w in told.warnings)
    assert sorted(p.name for p in db_dir.iterdir()) == before
    reset = plan_rollback(facts, RollbackRequest("tm", to="s3", strategy=CnidStrategy.RESET))
    assert any("reset: all 2 files and directories" in w for w in forecast_cnids(reset, facts).warnings)
