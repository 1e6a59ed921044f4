"""Read-only health check of one volume: the CNID database against the files and their metadata EAs (pure).

Inputs are values: the database (:mod:`zfstm.netatalk.cnid`) and a scan of the volume (:class:`VolumeScan`, made
by :mod:`zfstm.netatalk.scan`). Each finding says what a Mac would suffer from it:

- ``missing``: a record whose file is gone (deleted or renamed behind netatalk's back, or rolled back) -- stale.
- ``devino-mismatch``: the path exists but is another inode (replaced, restored from a snapshot) -- stale.
- ``type-mismatch``: the record says file, the disk says directory (or the reverse) -- stale.
- ``orphan``: a record whose parent directory has no record, so it has no path.
- ``above-counter``: a CNID above rootinfo's last-used counter: netatalk would hand it out again.
- ``duplicate-devino`` / ``duplicate-name``: two records for one inode or one (parent, name).
- ``ea-mismatch``: a file's cached CNID differs from the database's CNID for that path.
- ``ea-unknown``: a file's cached CNID is not in the database at all (database reset or rolled back alone).
- ``ea-duplicate``: several files carry the same cached CNID (copied with their EAs).
- ``ea-stale-hint``: the EA's cached dev/ino no longer match the file, so netatalk will ignore the hint.
- ``ea-above-counter``: a cached CNID above the counter.
- ``ea-invalid``: an EA that is not netatalk's 402-byte header.

Files without a record (``untracked``) or without an EA (``no-ea``) are counted, not problems: netatalk adds
them on first access.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping

import attrs

from zfstm.netatalk.cnid import ROOT_DID, ROOT_PARENT_DID, CnidDatabase, CnidRecord, EntryType
from zfstm.netatalk.metadata_ea import MetadataEa


class Finding(enum.Enum):
    MISSING = "missing"
    DEVINO_MISMATCH = "devino-mismatch"
    TYPE_MISMATCH = "type-mismatch"
    ORPHAN = "orphan"
    ABOVE_COUNTER = "above-counter"
    DUPLICATE_DEVINO = "duplicate-devino"
    DUPLICATE_NAME = "duplicate-name"
    EA_MISMATCH = "ea-mismatch"
    EA_UNKNOWN = "ea-unknown"
    EA_DUPLICATE = "ea-duplicate"
    EA_STALE_HINT = "ea-stale-hint"
    EA_ABOVE_COUNTER = "ea-above-counter"
    EA_INVALID = "ea-invalid"
    UNTRACKED = "untracked"
    NO_EA = "no-ea"


#: Findings that are counted but do not make a volume unhealthy.
INFORMATIONAL = frozenset({Finding.UNTRACKED, Finding.NO_EA})
#: Findings that mean the database describes files that are not there (what a rollback leaves behind).
STALE = frozenset({Finding.MISSING, Finding.DEVINO_MISMATCH, Finding.TYPE_MISMATCH})


@attrs.frozen
class FsEntry:
    """One file or directory of the volume; ``path`` is relative to the volume root ('' is the root)."""

    path: str
    dev: int
    ino: int
    is_dir: bool
    ea: MetadataEa | None = None
    ea_error: str | None = None


@attrs.frozen
class VolumeScan:
    root: str
    entries: tuple[FsEntry, ...]


@attrs.frozen
class Problem:
    finding: Finding
    cnid: int | None
    path: str | None
    detail: str


@attrs.frozen
class CheckReport:
    """Counts per finding and every problem found; ``healthy`` ignores the informational findings."""

    volume_root: str
    records: int
    entries: int
    last_cnid: int | None
    problems: tuple[Problem, ...]

    @property
    def counts(self) -> dict[Finding, int]:
        out: dict[Finding, int] = {}
        for p in self.problems:
            out[p.finding] = out.get(p.finding, 0) + 1
        return out

    @property
    def healthy(self) -> bool:
        return all(p.finding in INFORMATIONAL for p in self.problems)

    def examples(self, finding: Finding, limit: int = 5) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.finding is finding)[:limit]


def record_paths(records: Iterable[CnidRecord]) -> tuple[dict[int, str], list[CnidRecord]]:
    """Path (relative to the volume root) of every record reachable from the root, and the orphans."""
    by_cnid = {r.cnid: r for r in records}
    paths: dict[int, str] = {ROOT_DID: ""}
    orphans: list[CnidRecord] = []

    def resolve(cnid: int, seen: frozenset[int]) -> str | None:
        if cnid in paths:
            return paths[cnid]
        rec = by_cnid.get(cnid)
        if rec is None or cnid in seen or rec.did == ROOT_PARENT_DID:
            return None
        parent = resolve(rec.did, seen | {cnid})
        if parent is None:
            return None
        path = f"{parent}/{rec.name}" if parent else rec.name
        paths[cnid] = path
        return path

    for rec in by_cnid.values():
        if rec.cnid == ROOT_DID or rec.did == ROOT_PARENT_DID:
            continue
        if resolve(rec.cnid, frozenset()) is None:
            orphans.append(rec)
    return paths, orphans


def _differs(dev: int, ino: int, entry: FsEntry, cnid_dev: bool) -> bool:
    """dev/ino no longer describe ``entry``; dev 0 means the volume does not use dev (``cnid dev = no``)."""
    return ino != entry.ino or (cnid_dev and dev not in (0, entry.dev))


def _check_records(
    by_cnid: Mapping[int, CnidRecord], paths: Mapping[int, str], entries: Mapping[str, FsEntry], cnid_dev: bool
) -> Iterable[Problem]:
    for cnid, path in sorted(paths.items()):
        found = by_cnid.get(cnid)
        if found is None or cnid == ROOT_DID:
            continue
        entry = entries.get(path)
        if entry is None:
            yield Problem(Finding.MISSING, cnid, path, "no such file on the volume")
        elif entry.is_dir != (found.type is EntryType.DIR):
            yield Problem(Finding.TYPE_MISMATCH, cnid, path, f"database says {found.type.name.lower()}")
        elif _differs(found.dev, found.ino, entry, cnid_dev):
            detail = f"database dev/ino {found.dev}/{found.ino}, file {entry.dev}/{entry.ino}"
            yield Problem(Finding.DEVINO_MISMATCH, cnid, path, detail)


def _check_uniqueness(db: CnidDatabase, paths: Mapping[int, str], last: int | None) -> Iterable[Problem]:
    seen_devino: dict[tuple[int, int], int] = {}
    seen_name: dict[tuple[int, str], int] = {}
    for rec in db.records:
        where = paths.get(rec.cnid)
        if last is not None and rec.cnid > last:
            yield Problem(Finding.ABOVE_COUNTER, rec.cnid, where, f"counter is {last}")
        other = seen_devino.setdefault(rec.devino, rec.cnid)
        if other != rec.cnid:
            yield Problem(Finding.DUPLICATE_DEVINO, rec.cnid, where, f"same dev/ino as CNID {other}")
        other = seen_name.setdefault((rec.did, rec.name), rec.cnid)
        if other != rec.cnid:
            yield Problem(Finding.DUPLICATE_NAME, rec.cnid, where, f"same parent and name as CNID {other}")


def _check_ea(
    entry: FsEntry,
    recs: list[CnidRecord],
    *,
    by_cnid: Mapping[int, CnidRecord],
    paths: Mapping[int, str],
    last: int | None,
    cnid_dev: bool,
) -> Iterable[Problem]:
    if not recs:
        yield Problem(Finding.UNTRACKED, None, entry.path, "no record yet")
    if entry.ea_error is not None:
        yield Problem(Finding.EA_INVALID, None, entry.path, entry.ea_error)
        return
    ea = entry.ea
    if ea is None:
        yield Problem(Finding.NO_EA, None, entry.path, "no metadata EA")
        return
    if recs and all(r.cnid != ea.cnid for r in recs):
        yield Problem(Finding.EA_MISMATCH, ea.cnid, entry.path, f"database says CNID {recs[0].cnid}")
    elif not recs and ea.cnid in by_cnid:
        owner = paths.get(ea.cnid, "an orphan record")
        yield Problem(Finding.EA_MISMATCH, ea.cnid, entry.path, f"that CNID belongs to {owner!r}")
    elif not recs:
        yield Problem(Finding.EA_UNKNOWN, ea.cnid, entry.path, "cached CNID is not in the database")
    if _differs(ea.dev, ea.ino, entry, cnid_dev):
        detail = f"EA cached dev/ino {ea.dev}/{ea.ino}, file {entry.dev}/{entry.ino}"
        yield Problem(Finding.EA_STALE_HINT, ea.cnid, entry.path, detail)
    if last is not None and ea.cnid > last:
        yield Problem(Finding.EA_ABOVE_COUNTER, ea.cnid, entry.path, f"counter is {last}")


def check_volume(db: CnidDatabase, scan: VolumeScan, *, cnid_dev: bool = True) -> CheckReport:
    """Compare database, files and EAs; never decides to change anything."""
    last = db.rootinfo.last_cnid if db.rootinfo else None
    by_cnid = db.by_cnid()
    paths, orphans = record_paths(db.records)
    by_path: dict[str, list[CnidRecord]] = defaultdict(list)
    for cnid, path in paths.items():
        if cnid in by_cnid and cnid != ROOT_DID:
            by_path[path].append(by_cnid[cnid])
    entries: Mapping[str, FsEntry] = {e.path: e for e in scan.entries}

    problems = [
        Problem(Finding.ORPHAN, r.cnid, None, f"parent DID {r.did} has no record ({r.name!r})") for r in orphans
    ]
    problems.extend(_check_records(by_cnid, paths, entries, cnid_dev))
    problems.extend(_check_uniqueness(db, paths, last))
    ea_holders: dict[int, list[str]] = defaultdict(list)
    for entry in scan.entries:
        if entry.path == "":
            continue
        problems.extend(
            _check_ea(entry, by_path.get(entry.path, []), by_cnid=by_cnid, paths=paths, last=last, cnid_dev=cnid_dev)
        )
        if entry.ea is not None:
            ea_holders[entry.ea.cnid].append(entry.path)
    for cnid, holders in sorted(ea_holders.items()):
        if len(holders) > 1:
            problems.extend(
                Problem(Finding.EA_DUPLICATE, cnid, path, f"{len(holders)} files cache this CNID") for path in holders
            )
    return CheckReport(
        volume_root=scan.root,
        records=len(db.records),
        entries=sum(1 for e in scan.entries if e.path != ""),
        last_cnid=last,
        problems=tuple(problems),
    )
