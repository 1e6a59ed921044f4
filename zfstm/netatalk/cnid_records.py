"""CNID database records, transformed without touching a file (pure): the counter raised, records re-pointed at a
new ``st_dev``, the devino index rebuilt or remapped. :mod:`zfstm.netatalk.cnid_counter` runs the Berkeley DB tools
around these."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from zfstm.errors import CnidDatabaseError
from zfstm.netatalk.bdbdump import DumpedDatabase
from zfstm.netatalk.cnid import ROOTINFO_KEY, RootInfo, decode_rootinfo, encode_rootinfo

#: The header of what zfstm loads: a plain btree, as netatalk creates its sub-databases.
BTREE_HEADER = (("VERSION", "3"), ("format", "bytevalue"), ("type", "btree"))


def rootinfo_of(database: DumpedDatabase) -> RootInfo | None:
    data = dict(database.pairs).get(ROOTINFO_KEY)
    return decode_rootinfo(data) if data is not None else None


def with_counter(database: DumpedDatabase, counter: int) -> DumpedDatabase:
    """The primary database with the rootinfo counter set to ``counter`` (pure)."""
    info = rootinfo_of(database)
    if info is None:
        raise CnidDatabaseError("the CNID database has no rootinfo record to raise")
    key, data = encode_rootinfo(RootInfo(stamp=info.stamp, last_cnid=counter, version=info.version))
    pairs = tuple((k, data if k == key else d) for k, d in database.pairs)
    return DumpedDatabase(header=database.header, pairs=pairs)


def named(database: DumpedDatabase, name: str) -> DumpedDatabase:
    """The dump with ``database=<name>`` in its header: db_load takes the sub-database name from there."""
    header = tuple((k, v) for k, v in database.header if k != "database")
    at = next((i for i, (k, _) in enumerate(header) if k == "format"), len(header) - 1) + 1
    return DumpedDatabase(header=(*header[:at], ("database", name), *header[at:]), pairs=database.pairs)


def repoint_records(primary: DumpedDatabase, new_dev: int) -> tuple[DumpedDatabase, dict[bytes, bytes]]:
    """Re-point file records at the share's current ``st_dev`` (pure): (primary, {CNID key: new dev/ino bytes}).

    After a rollback the share is a different mount and (Linux, illumos) gets another ``st_dev``; cnid_dbd treats a
    record whose dev/ino no longer matches as stale, deletes it and hands out a NEW CNID (netatalk's
    ``dbd_lookup``: "changed dev/ino"). Only the most common non-zero dev (the share's own filesystem) is
    rewritten; ``cnid dev = no`` volumes store 0 and are left alone.
    """
    devs: dict[bytes, int] = {}
    for key, data in primary.pairs:
        if key != ROOTINFO_KEY and len(data) >= 20 and data[4:12] != bytes(8):
            devs[data[4:12]] = devs.get(data[4:12], 0) + 1
    new = new_dev.to_bytes(8, "big")
    if not devs or max(devs, key=lambda d: devs[d]) == new:
        return primary, {}
    old = max(devs, key=lambda d: devs[d])
    pairs, moved = [], {}
    for key, data in primary.pairs:
        if key != ROOTINFO_KEY and data[4:12] == old:
            data = data[:4] + new + data[12:]  # noqa: PLW2901 - the rewritten record replaces the old one
            moved[key] = data[4:20]
        pairs.append((key, data))
    return DumpedDatabase(header=primary.header, pairs=tuple(pairs)), moved


def devino_index(primary: DumpedDatabase) -> DumpedDatabase | None:
    """devino.db as netatalk's index callback builds it from ``primary`` (record bytes 4..19 -> CNID key), or None
    when that is not a unique index (two records with one dev/ino: an inconsistent database), so the existing index
    has to be remapped instead. Building it saves dumping and parsing the old index (tens of thousands of keys)."""
    if any(len(data) < 20 for _, data in primary.pairs):
        return None
    index = sorted((data[4:20], key) for key, data in primary.pairs)
    if any(a[0] == b[0] for a, b in itertools.pairwise(index)):
        return None
    return DumpedDatabase(header=BTREE_HEADER, pairs=tuple(index))


def remap_index(devino: DumpedDatabase, moved: Mapping[bytes, bytes]) -> DumpedDatabase:
    """The existing devino index with the keys of the re-pointed records changed to their new dev/ino (pure)."""
    return DumpedDatabase(
        header=devino.header, pairs=tuple(sorted((moved.get(pkey, skey), pkey) for skey, pkey in devino.pairs))
    )
