"""The org.netatalk.Metadata extended attribute (``appledouble = ea``): decode, encode, and read it from a file.

netatalk keeps each file's Finder info, comment, dates and its cached CNID in a 402-byte AppleDouble header stored
as an EA. The cached CNID, together with the dev/ino it was cached for, is the *hint* that lets ``dbd`` give a file
back its CNID after the database was rebuilt -- the key to keeping CNIDs across a rollback.

Layout (netatalk ``include/atalk/adouble.h``, ``libatalk/adouble/ad_open.c``)::

    @0 magic 0x00051607 · @4 version 0x00020000 · @8 filler (16, zero) · @24 nentries = 8 (2)
    @26 8 entries x (id, offset, length), 4 bytes each, big-endian
    data: @122 FinderInfo (32) · @154 comment (200) · @354 dates (16) · @370 AFP file info (4)
          · @374 dev (8) · @382 ino (8) · @390 db stamp (8) · @398 CNID (4)

The header and entries are big-endian, but dev, ino and the CNID are stored in the *server's* byte order
(``ad_setid`` copies dev_t/ino_t as they are and applies htonl to an already network-order CNID for EAs).
Readers must be told the server's byte order; it defaults to this machine's.

Reading: Linux exposes it as ``user.org.netatalk.Metadata`` (``os.getxattr``). illumos/Solaris keep EAs as files
in a hidden attribute directory: open ``org.netatalk.Metadata`` with ``openat(fd, name, O_RDONLY | O_XATTR)``
(shell: ``runat FILE cat org.netatalk.Metadata``); :func:`zfstm.netatalk.scan.read_metadata_ea` does that on
SunOS (this module only decodes).
"""

from __future__ import annotations

import struct
import sys
from typing import Literal

import attrs

from zfstm.errors import MetadataEaError

EA_NAME = "org.netatalk.Metadata"
EA_NAME_LINUX = "user." + EA_NAME
EA_SIZE = 402
MAGIC = 0x00051607
VERSION = 0x00020000
#: netatalk 4.2.3 writes a zero filler in EAs (its ._ files say "Netatalk        ").
FILLER_ZERO = b"\0" * 16
HEADER_LEN = 26
ENTRY_LEN = 12

# AppleDouble entry IDs, and netatalk's private IDs as stored on disk.
ID_COMMENT = 4
ID_FILEDATES = 8
ID_FINDERINFO = 9
ID_AFPFILEINFO = 14
ID_PRIVDEV = 0x80444556
ID_PRIVINO = 0x80494E4F
ID_PRIVSYN = 0x8053594E
ID_PRIVID = 0x8053567E

#: (entry id, offset, maximum length) in the order netatalk 4.2.3 writes the entry table (seen in the testbed).
LAYOUT: tuple[tuple[int, int, int], ...] = (
    (ID_COMMENT, 154, 200),
    (ID_FILEDATES, 354, 16),
    (ID_FINDERINFO, 122, 32),
    (ID_AFPFILEINFO, 370, 4),
    (ID_PRIVDEV, 374, 8),
    (ID_PRIVINO, 382, 8),
    (ID_PRIVSYN, 390, 8),
    (ID_PRIVID, 398, 4),
)
ByteOrder = Literal["little", "big"]
HOST_ORDER: ByteOrder = "little" if sys.byteorder == "little" else "big"


@attrs.frozen
class MetadataEa:
    """What netatalk cached for one file. ``cnid``/``dev``/``ino`` are the hint; ``stamp`` ties it to a database."""

    cnid: int
    dev: int
    ino: int
    stamp: bytes
    finder_info: bytes = b"\0" * 32
    comment: bytes = b"\0" * 200
    dates: bytes = b"\0" * 16
    afp_file_info: bytes = b"\0" * 4
    filler: bytes = FILLER_ZERO


def _field(raw: bytes, entries: dict[int, tuple[int, int]], eid: int, size: int, where: str) -> bytes:
    if eid not in entries:
        raise MetadataEaError(f"{where}: metadata EA lacks entry {eid:#x}")
    off, length = entries[eid]
    if length > size or off + length > len(raw) or off < HEADER_LEN + 8 * ENTRY_LEN:
        raise MetadataEaError(f"{where}: metadata EA entry {eid:#x} at {off}+{length} is out of bounds")
    return raw[off : off + length]


def decode_metadata_ea(raw: bytes, *, byteorder: ByteOrder = HOST_ORDER, where: str = "EA") -> MetadataEa:
    """Decode the EA; anything but netatalk's 402-byte layout is an error (netatalk itself would delete it)."""
    if len(raw) != EA_SIZE:
        raise MetadataEaError(f"{where}: metadata EA is {len(raw)} bytes, netatalk writes {EA_SIZE}")
    magic, version = struct.unpack_from(">II", raw, 0)
    if magic != MAGIC or version != VERSION:
        raise MetadataEaError(
            f"{where}: metadata EA has magic {magic:#010x} version {version:#010x}, not AppleDouble v2"
        )
    (count,) = struct.unpack_from(">H", raw, 24)
    if count != len(LAYOUT):
        raise MetadataEaError(f"{where}: metadata EA has {count} entries, netatalk writes {len(LAYOUT)}")
    entries: dict[int, tuple[int, int]] = {}
    for i in range(count):
        eid, off, length = struct.unpack_from(">III", raw, HEADER_LEN + i * ENTRY_LEN)
        entries[eid] = (off, length)
    sizes = {eid: size for eid, _, size in LAYOUT}
    fields = {eid: _field(raw, entries, eid, sizes[eid], where) for eid in sizes}
    for eid, size in ((ID_PRIVDEV, 8), (ID_PRIVINO, 8), (ID_PRIVSYN, 8), (ID_PRIVID, 4)):
        if len(fields[eid]) != size:
            raise MetadataEaError(f"{where}: metadata EA entry {eid:#x} has length {len(fields[eid])}, not {size}")
    return MetadataEa(
        cnid=int.from_bytes(fields[ID_PRIVID], byteorder),
        dev=int.from_bytes(fields[ID_PRIVDEV], byteorder),
        ino=int.from_bytes(fields[ID_PRIVINO], byteorder),
        stamp=fields[ID_PRIVSYN],
        finder_info=fields[ID_FINDERINFO],
        comment=fields[ID_COMMENT],
        dates=fields[ID_FILEDATES],
        afp_file_info=fields[ID_AFPFILEINFO],
        filler=raw[8:24],
    )


def encode_metadata_ea(ea: MetadataEa, *, byteorder: ByteOrder = HOST_ORDER) -> bytes:
    """Encode in netatalk's layout (used by tests and fixtures; zfstm never writes EAs to a share)."""
    values = {
        ID_FINDERINFO: ea.finder_info,
        ID_COMMENT: ea.comment,
        ID_FILEDATES: ea.dates,
        ID_AFPFILEINFO: ea.afp_file_info,
        ID_PRIVDEV: ea.dev.to_bytes(8, byteorder),
        ID_PRIVINO: ea.ino.to_bytes(8, byteorder),
        ID_PRIVSYN: ea.stamp,
        ID_PRIVID: ea.cnid.to_bytes(4, byteorder),
    }
    if len(ea.filler) != 16:
        raise MetadataEaError("metadata EA filler must be 16 bytes")
    buf = bytearray(EA_SIZE)
    struct.pack_into(">II", buf, 0, MAGIC, VERSION)
    buf[8:24] = ea.filler
    struct.pack_into(">H", buf, 24, len(LAYOUT))
    for i, (eid, off, size) in enumerate(LAYOUT):
        value = values[eid]
        fixed = eid not in (ID_COMMENT,)
        if len(value) > size or (fixed and len(value) != size):
            raise MetadataEaError(f"metadata EA entry {eid:#x} must be {size} bytes, got {len(value)}")
        struct.pack_into(">III", buf, HEADER_LEN + i * ENTRY_LEN, eid, off, len(value))
        buf[off : off + len(value)] = value
    return bytes(buf)
