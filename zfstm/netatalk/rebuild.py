"""Rebuild a volume's CNID records for the files a rollback brought back (pure).

Why: when the CNID database is not rolled back with the share (it lives at netatalk's default place off ZFS, or
on a CNID dataset that other volumes share), it describes the files that are gone, and netatalk's own repair
(``dbd -f``) trusts only metadata EAs whose dev *and* inode still match: after a swap no dev matches, so every
CNID changes. zfstm knows more than ``dbd``: the live database before the rollback (every object it has seen,
by parent, name and inode) and each brought-back file's EA (the CNID afpd cached *at snapshot time*). So every
file and directory of the snapshot gets back the CNID it had then, and nothing ever gets a CNID at or below the
highest one handed out before the rollback (the *mark*) unless it had exactly that CNID at snapshot time.

Which CNID an entry gets, first that applies and is not taken yet:

1. its metadata EA's CNID, when the EA belongs to this object (its cached inode is the file's inode: a ZFS
   clone or rollback keeps inode numbers, so only dev differs after a swap) and the database has handed that CNID
   out (it is not above the mark) — the snapshot's own word;
2. the live record with the same parent, name and inode (an object unchanged since the snapshot);
3. a new CNID above the mark (and above everything assigned): counted and named in the result, never silent.

Records are written with the share's current dev (0 with ``cnid dev = no``), so afpd finds every object by dev
and inode and keeps its CNID, as it does after a paired rollback's re-pointing.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence

import attrs

from zfstm.errors import CnidDatabaseError
from zfstm.netatalk.check import VolumeScan
from zfstm.netatalk.cnid import (
    CNID_START,
    MAX_CNID,
    ROOT_DID,
    CnidDatabase,
    CnidRecord,
    EntryType,
    encode_name,
    encode_record,
)


@attrs.frozen
class Rebuilt:
    """The records to write, the counter to store, and what was decided for how many entries.

    ``new`` and ``skipped`` name the paths whose CNID changes (a few examples are enough for a report; the counts
    are exact): ``new`` got a CNID above the mark, ``skipped`` got no record (a second hard link to an inode that
    already has one: afpd finds the inode's record)."""

    records: tuple[CnidRecord, ...]
    counter: int
    mark: int
    from_ea: int
    from_record: int
    new: tuple[str, ...]
    skipped: tuple[str, ...]
    #: live records of objects that are not in the snapshot (dropped; their CNIDs are never handed out again)
    dropped: int

    @property
    def changed(self) -> int:
        return len(self.new) + len(self.skipped)


def highest_handed_out(db: CnidDatabase) -> int:
    """The highest CNID the database has ever handed out as far as it can tell: its counter, or a record above it
    (a damaged counter must not make zfstm reuse what a record still shows)."""
    counter = db.rootinfo.last_cnid if db.rootinfo is not None else CNID_START - 1
    return max([counter, *(r.cnid for r in db.records)])


def _parent_and_name(path: str) -> tuple[str, str]:
    parent, _, name = path.rpartition("/")
    return parent, name


def rebuild_records(
    live: CnidDatabase | None,
    scan: VolumeScan,
    *,
    mark: int,
    dev: int,
    use_hints: bool = True,
) -> Rebuilt:
    """The records for ``scan`` (the rolled-back volume, root first, parents before children).

    ``live`` is the database now (None: none could be read); ``mark`` the counter read before anything changed
    (from the journal: a resumed step passes the same one, and then, the live database being this function's own
    earlier result, gets the same records back); ``dev`` what every record stores (the share's st_dev, or 0 for
    ``cnid dev = no``). New CNIDs start above the mark and above anything the live database shows.
    ``use_hints=False`` ignores EAs and live records: every entry gets a new CNID (the ``reset`` strategy: CNIDs
    change, none is reused)."""
    records_live = live.records if live is not None else ()
    by_place: dict[tuple[int, str], CnidRecord] = {(r.did, r.name): r for r in records_live}
    root_live = next((r for r in records_live if r.cnid == ROOT_DID), None)
    counter = max(mark, highest_handed_out(live) if live is not None else CNID_START - 1)
    cnid_of: dict[str, int] = {"": ROOT_DID}
    taken: set[int] = {ROOT_DID}
    inodes: set[int] = set()
    out: list[CnidRecord] = []
    new: list[str] = []
    skipped: list[str] = []
    from_ea = from_record = 0
    entries = list(scan.entries)
    root = next((e for e in entries if e.path == ""), None)
    if root is not None:
        inodes.add(root.ino)
        if root_live is not None:  # netatalk 3/4 keep no record for the root; keep one if this database has it
            out.append(attrs.evolve(root_live, dev=dev, ino=root.ino))
    for entry in entries:
        if entry.path == "":
            continue
        parent_path, name = _parent_and_name(entry.path)
        did = cnid_of.get(parent_path)
        if did is None:  # parent skipped (cannot happen with a whole scan); its children cannot be placed either
            skipped.append(entry.path)
            continue
        if entry.ino in inodes:
            skipped.append(entry.path)
            continue
        kind = EntryType.DIR if entry.is_dir else EntryType.FILE
        chosen: int | None = None
        if use_hints:
            ea = entry.ea
            if ea is not None and ea.ino == entry.ino and CNID_START <= ea.cnid <= mark and ea.cnid not in taken:
                chosen, from_ea = ea.cnid, from_ea + 1
            else:
                rec = by_place.get((did, name))
                if rec is not None and rec.ino == entry.ino and rec.type is kind and rec.cnid not in taken:
                    chosen, from_record = rec.cnid, from_record + 1
        if chosen is None:
            counter += 1
            chosen = counter
            new.append(entry.path)
        taken.add(chosen)
        inodes.add(entry.ino)
        cnid_of[entry.path] = chosen
        out.append(CnidRecord(cnid=chosen, dev=dev, ino=entry.ino, type=kind, did=did, name=name))
    if counter > MAX_CNID or max(taken) > MAX_CNID:
        raise CnidDatabaseError(f"{scan.root}: the CNID space is exhausted (the counter would pass {MAX_CNID})")
    kept = {r.cnid for r in out}
    return Rebuilt(
        records=tuple(sorted(out, key=lambda r: r.cnid)),
        counter=max([counter, *kept]),
        mark=mark,
        from_ea=from_ea,
        from_record=from_record,
        new=tuple(new),
        skipped=tuple(skipped),
        dropped=sum(1 for r in records_live if r.cnid not in kept),
    )


# -- the sub-databases netatalk keeps beside the primary, built as its index callbacks build them (etc/cnid_dbd/pack.c)


def primary_pairs(records: Iterable[CnidRecord]) -> list[tuple[bytes, bytes]]:
    return sorted(encode_record(r) for r in records)


def devino_pairs(primary: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """devino.db: record bytes 4..19 (dev, inode) -> CNID key."""
    return sorted((data[4:20], key) for key, data in primary)


def didname_pairs(primary: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """didname.db: record bytes from 24 (parent DID, name, its NUL) -> CNID key."""
    return sorted((data[24:], key) for key, data in primary)


def name_pairs(
    records: Iterable[CnidRecord], old: Sequence[tuple[bytes, bytes]], old_names: Mapping[int, str]
) -> list[tuple[bytes, bytes]]:
    """name.db (sorted duplicates: lower-cased name -> CNID key, used by catalog search).

    netatalk lower-cases through its volume charset; for a record whose CNID kept its name, the old index key is
    reused as netatalk wrote it, and only a name the old index never had is lower-cased here (exact for ASCII)."""
    old_key = {int.from_bytes(cnid_key, "big"): key for key, cnid_key in old}
    pairs = []
    for r in records:
        key = old_key.get(r.cnid) if old_names.get(r.cnid) == r.name else None
        if key is None:
            key = encode_name(r.name.lower())
        pairs.append((key, r.cnid.to_bytes(4, "big")))
    return sorted(pairs)


def duplicate_keys(pairs: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
    """Keys that occur twice in a sorted unique index (a database netatalk would reject)."""
    return [a[0] for a, b in itertools.pairwise(pairs) if a[0] == b[0]]
