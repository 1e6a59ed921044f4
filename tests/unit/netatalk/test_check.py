"""The read-only CNID health check (zfstm.netatalk.check), on synthetic databases and scans."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from zfstm.netatalk.check import CheckReport, Finding, FsEntry, VolumeScan, check_volume, record_paths
from zfstm.netatalk.cnid import CnidDatabase, CnidRecord, EntryType, RootInfo
from zfstm.netatalk.metadata_ea import MetadataEa

DEV = 77
STAMP = b"\x05" * 8


def healthy_volume(n_dirs: int = 3, n_files: int = 4) -> tuple[CnidDatabase, VolumeScan]:
    """A volume as netatalk leaves it: every entry has a record and an EA caching that record's CNID."""
    records: list[CnidRecord] = []
    entries = [FsEntry(path="", dev=DEV, ino=2, is_dir=True)]
    cnid, ino = 17, 100
    for d in range(n_dirs):
        dir_cnid, dname = cnid, f"dir{d}"
        records.append(CnidRecord(cnid=cnid, dev=DEV, ino=ino, type=EntryType.DIR, did=2, name=dname))
        entries.append(FsEntry(dname, DEV, ino, True, MetadataEa(cnid=cnid, dev=DEV, ino=ino, stamp=STAMP)))
        cnid, ino = cnid + 1, ino + 1
        for f in range(n_files):
            path = f"{dname}/f{f}"
            records.append(CnidRecord(cnid=cnid, dev=DEV, ino=ino, type=EntryType.FILE, did=dir_cnid, name=f"f{f}"))
            entries.append(FsEntry(path, DEV, ino, False, MetadataEa(cnid=cnid, dev=DEV, ino=ino, stamp=STAMP)))
            cnid, ino = cnid + 1, ino + 1
    db = CnidDatabase(rootinfo=RootInfo(stamp=STAMP, last_cnid=cnid - 1, version=1), records=tuple(records))
    return db, VolumeScan(root="/vol", entries=tuple(entries))


def findings(report: CheckReport) -> dict[str, int]:
    return {f.value: n for f, n in report.counts.items()}


def test_healthy_volume_has_no_findings() -> None:
    """A consistent volume reports nothing and counts every record and entry."""
    db, scan = healthy_volume()
    report = check_volume(db, scan)
    assert report.healthy and report.problems == ()
    assert (report.records, report.entries, report.last_cnid) == (15, 15, 31)


@given(st.integers(1, 5), st.integers(0, 6))
def test_record_paths_resolve_every_record_of_a_tree(n_dirs: int, n_files: int) -> None:
    """Every record of a tree rooted at DID 2 gets a path equal to the scanned path, and there are no orphans."""
    db, scan = healthy_volume(n_dirs, n_files)
    paths, orphans = record_paths(db.records)
    assert orphans == []
    assert {paths[r.cnid] for r in db.records} == {e.path for e in scan.entries if e.path}


def test_deleted_file_is_a_stale_missing_record() -> None:
    """A file deleted behind netatalk's back leaves a 'missing' record."""
    db, scan = healthy_volume()
    scan = attrs.evolve(scan, entries=tuple(e for e in scan.entries if e.path != "dir1/f2"))
    report = check_volume(db, scan)
    assert findings(report) == {"missing": 1}
    assert report.examples(Finding.MISSING)[0].path == "dir1/f2"


def test_renamed_file_is_missing_plus_untracked_with_a_mismatched_hint() -> None:
    """A rename behind netatalk's back: the old record is missing; the new name has no record, and its EA still
    caches the old CNID, which the database assigns to the old path."""
    db, scan = healthy_volume()
    entries = [attrs.evolve(e, path="dir0/renamed") if e.path == "dir0/f0" else e for e in scan.entries]
    report = check_volume(db, attrs.evolve(scan, entries=tuple(entries)))
    assert findings(report) == {"missing": 1, "untracked": 1, "ea-mismatch": 1}


def test_restored_file_has_new_inode() -> None:
    """A file replaced by a copy (new inode, EA copied along) shows a dev/ino mismatch and a stale hint."""
    db, scan = healthy_volume()
    entries = [attrs.evolve(e, ino=9999) if e.path == "dir2/f1" else e for e in scan.entries]
    report = check_volume(db, attrs.evolve(scan, entries=tuple(entries)))
    assert findings(report) == {"devino-mismatch": 1, "ea-stale-hint": 1}


def test_cnid_dev_no_ignores_dev() -> None:
    """With cnid dev = no (dev 0 in records) a changed st_dev is not a mismatch."""
    db, scan = healthy_volume()
    db = attrs.evolve(db, records=tuple(attrs.evolve(r, dev=0) for r in db.records))
    scan = attrs.evolve(scan, entries=tuple(attrs.evolve(e, dev=DEV + 1) for e in scan.entries))
    assert check_volume(db, scan, cnid_dev=False).healthy
    assert findings(check_volume(db, scan, cnid_dev=True)) == {"ea-stale-hint": 15}


def test_counter_behind_records_and_hints() -> None:
    """A counter lower than CNIDs in use (database rolled back alone) is reported for records and EAs."""
    db, scan = healthy_volume()
    assert db.rootinfo is not None
    db = attrs.evolve(db, rootinfo=attrs.evolve(db.rootinfo, last_cnid=29))
    assert findings(check_volume(db, scan)) == {"above-counter": 2, "ea-above-counter": 2}


def test_copied_ea_is_a_duplicate_and_unknown_hint() -> None:
    """A file copied together with its EA carries a CNID another file owns: ea-duplicate (both) and ea-mismatch."""
    db, scan = healthy_volume()
    source = next(e for e in scan.entries if e.path == "dir0/f1")
    copy = FsEntry("dir0/copy", DEV, 5000, False, source.ea)
    report = check_volume(db, attrs.evolve(scan, entries=(*scan.entries, copy)))
    assert findings(report) == {"untracked": 1, "ea-mismatch": 1, "ea-stale-hint": 1, "ea-duplicate": 2}


def test_database_reset_makes_every_hint_unknown() -> None:
    """After the database was deleted and only the root exists, every EA hint is unknown and every file untracked."""
    _db, scan = healthy_volume(1, 2)
    empty = CnidDatabase(rootinfo=RootInfo(stamp=STAMP, last_cnid=16, version=1), records=())
    report = check_volume(empty, scan)
    assert findings(report) == {"untracked": 3, "ea-unknown": 3, "ea-above-counter": 3}


def test_orphans_and_duplicate_records() -> None:
    """A record under an unknown parent is an orphan; two records for one inode or one name are duplicates."""
    db, scan = healthy_volume(1, 1)
    orphan = CnidRecord(cnid=30, dev=DEV, ino=700, type=EntryType.FILE, did=999, name="lost")
    twin = CnidRecord(cnid=31, dev=DEV, ino=101, type=EntryType.FILE, did=17, name="f0")
    db = CnidDatabase(rootinfo=RootInfo(stamp=STAMP, last_cnid=40, version=1), records=(*db.records, orphan, twin))
    got = findings(check_volume(db, scan))
    assert got["orphan"] == 1 and got["duplicate-devino"] == 1 and got["duplicate-name"] == 1


def test_invalid_ea_is_reported_not_raised() -> None:
    """An unreadable EA on one file is a finding for that file; the check goes on."""
    db, scan = healthy_volume(1, 1)
    entries = [attrs.evolve(e, ea=None, ea_error="bad size") if e.path == "dir0/f0" else e for e in scan.entries]
    assert findings(check_volume(db, attrs.evolve(scan, entries=tuple(entries)))) == {"ea-invalid": 1}
