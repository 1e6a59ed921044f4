"""CNID records and the rootinfo record of Netatalk's cnid2.db (dbd backend), encoded and decoded.

A CNID is the permanent file ID a Mac remembers (aliases, Time Machine's own bookkeeping). Netatalk keeps one
primary record per file or directory, keyed by the 4-byte CNID; all fields are big-endian (netatalk's
``etc/cnid_dbd/pack.c``)::

    @0  CNID (4)  @4 dev (8)  @12 ino (8)  @20 type (4: 0 file, 1 dir)  @24 parent DID (4)  @28 name, NUL-terminated

Key 0 holds the rootinfo record (37 bytes): ``0 (4) · stamp (8, st_ctime of cnid2.db in host byte order) ·
unused (8) · last used CNID (4, big-endian) · version (4, big-endian) · "RootInfo\\0"``. The counter is what makes
CNIDs never be reused: a rollback must never let it go backwards.
"""

from __future__ import annotations

import enum
import struct

import attrs

from zfstm.errors import CnidDatabaseError

#: First CNID handed out to a file; 1..16 are reserved. The volume root directory has CNID 2, its parent is 1.
CNID_START = 17
ROOT_DID = 2
ROOT_PARENT_DID = 1
ROOTINFO_KEY = b"\0\0\0\0"
ROOTINFO_LEN = 37
ROOTINFO_NAME = b"RootInfo\0"
HEADER_LEN = 28
MAX_CNID = 0xFFFFFFFF

_HEADER = struct.Struct(">IQQII")


class EntryType(enum.IntEnum):
    """What a record describes; netatalk stores it as a 4-byte big-endian integer."""

    FILE = 0
    DIR = 1


class CnidFormatError(CnidDatabaseError, ValueError):
    """Bytes that are not a CNID record or rootinfo record (a corrupt or foreign database)."""


@attrs.frozen
class CnidRecord:
    """One file or directory as the CNID database knows it. ``name`` is the on-disk name (bytes decoded as UTF-8
    with surrogateescape, so any byte string round-trips); ``dev`` is 0 on volumes with ``cnid dev = no``."""

    cnid: int
    dev: int
    ino: int
    type: EntryType
    did: int
    name: str

    @property
    def devino(self) -> tuple[int, int]:
        return (self.dev, self.ino)


@attrs.frozen
class RootInfo:
    """The database's own record: the stamp that EAs are checked against and the last CNID handed out."""

    stamp: bytes
    last_cnid: int
    version: int


def encode_name(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def decode_name(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def encode_record(record: CnidRecord) -> tuple[bytes, bytes]:
    """Return (key, data) exactly as netatalk stores them in the primary database."""
    name = encode_name(record.name)
    if b"\0" in name or not name:
        raise CnidFormatError(f"CNID {record.cnid}: a name must be non-empty and free of NUL bytes")
    head = _HEADER.pack(record.cnid, record.dev, record.ino, int(record.type), record.did)
    return struct.pack(">I", record.cnid), head + name + b"\0"


def decode_record(key: bytes, data: bytes) -> CnidRecord:
    """Decode one primary record; refuse anything that is not self-consistent."""
    if len(key) != 4:
        raise CnidFormatError(f"CNID key of {len(key)} bytes (expected 4)")
    if key == ROOTINFO_KEY:
        raise CnidFormatError("key 0 is the rootinfo record, not a file record")
    if len(data) < HEADER_LEN + 2:
        raise CnidFormatError(f"CNID record of {len(data)} bytes is too short (at least {HEADER_LEN + 2})")
    cnid, dev, ino, kind, did = _HEADER.unpack_from(data)
    (key_cnid,) = struct.unpack(">I", key)
    if cnid != key_cnid:
        raise CnidFormatError(f"record for key {key_cnid} says CNID {cnid}")
    if kind not in (EntryType.FILE, EntryType.DIR):
        raise CnidFormatError(f"CNID {cnid}: unknown type {kind}")
    raw_name = data[HEADER_LEN:]
    if not raw_name.endswith(b"\0") or b"\0" in raw_name[:-1]:
        raise CnidFormatError(f"CNID {cnid}: name is not a single NUL-terminated string")
    return CnidRecord(cnid=cnid, dev=dev, ino=ino, type=EntryType(kind), did=did, name=decode_name(raw_name[:-1]))


def encode_rootinfo(info: RootInfo) -> tuple[bytes, bytes]:
    if len(info.stamp) != 8:
        raise CnidFormatError(f"rootinfo stamp must be 8 bytes, not {len(info.stamp)}")
    data = b"\0\0\0\0" + info.stamp + b"\0" * 8 + struct.pack(">II", info.last_cnid, info.version) + ROOTINFO_NAME
    return ROOTINFO_KEY, data


def decode_rootinfo(data: bytes) -> RootInfo:
    if len(data) != ROOTINFO_LEN or not data.endswith(ROOTINFO_NAME):
        raise CnidFormatError(f"rootinfo record of {len(data)} bytes without the RootInfo marker")
    last_cnid, version = struct.unpack_from(">II", data, 20)
    return RootInfo(stamp=bytes(data[4:12]), last_cnid=last_cnid, version=version)


@attrs.frozen
class CnidDatabase:
    """The primary database of one volume: its rootinfo (None if the database was never initialised) and records
    in CNID order."""

    rootinfo: RootInfo | None
    records: tuple[CnidRecord, ...]

    def by_cnid(self) -> dict[int, CnidRecord]:
        return {r.cnid: r for r in self.records}


def database_from_pairs(pairs: tuple[tuple[bytes, bytes], ...] | list[tuple[bytes, bytes]]) -> CnidDatabase:
    """Build the model from the key/data pairs of the primary database; any malformed pair is an error."""
    rootinfo: RootInfo | None = None
    records: list[CnidRecord] = []
    for key, data in pairs:
        if key == ROOTINFO_KEY:
            rootinfo = decode_rootinfo(data)
        else:
            records.append(decode_record(key, data))
    records.sort(key=lambda r: r.cnid)
    return CnidDatabase(rootinfo=rootinfo, records=tuple(records))
