"""Linux inotify records, parsed, and what they mean for the targets: SnapshotHistory.plist written. Pure.

A read from an inotify descriptor returns whole ``struct inotify_event`` records (inotify(7)), native byte order:
watch descriptor (int32) · mask (uint32) · cookie (uint32) · name length (uint32) · name (NUL-padded). The
daemon watches each share's directory (a bundle appearing) and each bundle's directory (its
``com.apple.TimeMachine.SnapshotHistory.plist`` closed after writing, or renamed into place: Time Machine over
SMB writes a temporary file and renames it; over AFP netatalk deletes and creates). The kernel is the only
writer, but the records are still checked against the buffer: a defect is one :class:`InotifyError`.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs

from zfstm.events.model import EventKind, EventSource, SessionEvent
from zfstm.timemachine.history import HISTORY_PLIST
from zfstm.timemachine.sparsebundle import COMPLETE_SUFFIX

# Mask bits (linux/inotify.h).
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_ISDIR = 0x40000000

#: What a share's directory is watched for: a bundle directory made or renamed into it.
SHARE_MASK = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR
#: What a bundle's directory is watched for: a file written and closed, or renamed into it; the bundle gone.
BUNDLE_MASK = IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR

_HEADER = struct.Struct("=iIII")


class InotifyError(ValueError):
    """A buffer that does not hold whole inotify records."""


@attrs.frozen
class InotifyRecord:
    """One ``struct inotify_event``; ``name`` is empty for events on the watched directory itself."""

    wd: int
    mask: int
    cookie: int = 0
    name: str = ""


def parse_records(data: bytes) -> tuple[InotifyRecord, ...]:
    """The records in one read's ``data``, in order."""
    out = []
    at = 0
    while at < len(data):
        if at + _HEADER.size > len(data):
            raise InotifyError(f"a record header truncated at byte {at} of {len(data)}")
        wd, mask, cookie, length = _HEADER.unpack_from(data, at)
        at += _HEADER.size
        if at + length > len(data):
            raise InotifyError(f"a name of {length} bytes runs past the end ({len(data) - at} left)")
        raw = data[at : at + length].split(b"\0", 1)[0]
        at += length
        out.append(InotifyRecord(wd, mask, cookie, raw.decode("utf-8", errors="surrogateescape")))
    return tuple(out)


def build_record(record: InotifyRecord) -> bytes:
    """The bytes the kernel would return for ``record`` (the name NUL-padded to 4 bytes; for tests)."""
    raw = record.name.encode("utf-8", errors="surrogateescape")
    padded = raw + b"\0" * (4 - len(raw) % 4) if raw else b""
    return _HEADER.pack(record.wd, record.mask, record.cookie, len(padded)) + padded


@attrs.frozen
class Watched:
    """What a watch descriptor watches: a target's share directory (``bundle`` empty) or one bundle in it."""

    target: str
    path: str
    bundle: str = ""


def is_bundle(name: str) -> bool:
    """A finished bundle's directory name (first backups, ``.incomplete``, are not watched: no history yet)."""
    return name.endswith(COMPLETE_SUFFIX) and "/" not in name and name not in {COMPLETE_SUFFIX}


@attrs.frozen
class Meaning:
    """What a batch of records means: history events, bundle directories to watch now, watches the kernel
    dropped, and whether events were lost (the queue overflowed)."""

    events: tuple[SessionEvent, ...] = ()
    new_bundles: tuple[Watched, ...] = ()
    gone: tuple[int, ...] = ()
    overflow: bool = False


def meaning(records: Sequence[InotifyRecord], watched: Mapping[int, Watched], at: datetime) -> Meaning:
    """Route ``records`` through the watches: a history written in a watched bundle is an event for its target;
    a bundle directory appearing in a share is to be watched; anything else is ignored."""
    events: list[SessionEvent] = []
    bundles: list[Watched] = []
    gone: list[int] = []
    overflow = False
    for record in records:
        if record.mask & IN_Q_OVERFLOW:
            overflow = True
            continue
        if record.mask & IN_IGNORED:
            gone.append(record.wd)
            continue
        where = watched.get(record.wd)
        if where is None:
            continue
        arrived = record.mask & (IN_CREATE | IN_MOVED_TO)
        if not where.bundle:
            if arrived and record.mask & IN_ISDIR and is_bundle(record.name):
                bundles.append(Watched(where.target, f"{where.path.rstrip('/')}/{record.name}", record.name))
            continue
        written = record.mask & (IN_CLOSE_WRITE | IN_MOVED_TO)
        if written and not record.mask & IN_ISDIR and record.name == HISTORY_PLIST:
            detail = f"{HISTORY_PLIST} written in {where.bundle}"
            events.append(SessionEvent(where.target, EventSource.INOTIFY, EventKind.HISTORY, at, detail))
    return Meaning(tuple(events), tuple(bundles), tuple(gone), overflow)
