"""netatalk's File Change Events (FCE): the UDP packets afpd sends to ``fce listener`` hosts, parsed.

Layout (netatalk ``include/atalk/fce_api.h``; all numbers big-endian):

- version 1 (netatalk 2.2 to 3.1.3, and ``fce version = 1`` later): magic ``at_fcapi`` (8) · version (1) ·
  event (1) · event id (4) · path length (2) · path;
- version 2 (netatalk 3.1.4 and later, ``fce version = 2``): magic (8) · version (1) · options (1) · event (1) ·
  padding (1) · reserved (8) · event id (4) · [pid (8) if options bit 0] · [user length (2) · user if bit 1] ·
  path length (2) · path · [source path length (2) · source path if bit 2].

Login and logout (events 8 and 9) exist since 3.1.4 and carry an empty path: only the pid (version 2) ties a
logout to the files its session touched. The packets come from anyone who can reach the port, so parsing treats
them as hostile: every length is checked against the datagram, and any defect is one :class:`FceError`.
"""

from __future__ import annotations

import struct
from enum import IntEnum

import attrs

MAGIC = b"at_fcapi"
#: The longest datagram read; afpd's own buffer is 4096 bytes.
MAX_PACKET = 65536
_PID, _USER, _SOURCE = 1, 2, 4


class FceEvent(IntEnum):
    """The ``event`` byte."""

    FILE_MODIFY = 1
    FILE_DELETE = 2
    DIR_DELETE = 3
    FILE_CREATE = 4
    DIR_CREATE = 5
    FILE_MOVE = 6
    DIR_MOVE = 7
    LOGIN = 8
    LOGOUT = 9
    CONN_START = 42
    CONN_BROKEN = 99


class FceError(ValueError):
    """A datagram that is not a well-formed FCE packet (one line, for the debug log)."""


@attrs.frozen
class FcePacket:
    """One parsed packet. ``pid`` and ``user`` are None where the packet did not carry them (version 1)."""

    version: int
    event: FceEvent
    event_id: int
    path: str
    pid: int | None = None
    user: str | None = None
    source_path: str | None = None


class _Cursor:
    """Reads fields off a datagram, refusing to run past its end."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, size: int, what: str) -> bytes:
        if self.at + size > len(self.data):
            raise FceError(f"truncated at the {what} (byte {self.at} of {len(self.data)})")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def number(self, fmt: str, what: str) -> int:
        value: int = struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]
        return value

    def text(self, what: str) -> str:
        raw = self.take(self.number(">H", f"{what} length"), what)
        if b"\0" in raw:
            raise FceError(f"a NUL byte in the {what}")
        return raw.decode("utf-8", errors="surrogateescape")


def parse_fce(data: bytes) -> FcePacket:
    """The packet in ``data``; :class:`FceError` for anything else (wrong magic, version, event, lengths)."""
    if len(data) > MAX_PACKET:
        raise FceError(f"{len(data)} bytes is longer than any FCE packet")
    cursor = _Cursor(data)
    if cursor.take(len(MAGIC), "magic") != MAGIC:
        raise FceError("no FCE magic")
    version = cursor.number(">B", "version")
    if version not in (1, 2):
        raise FceError(f"FCE version {version} is not 1 or 2")
    options = cursor.number(">B", "options") if version == 2 else 0
    code = cursor.number(">B", "event")
    try:
        event = FceEvent(code)
    except ValueError:
        raise FceError(f"unknown FCE event {code}") from None
    if version == 2:
        cursor.take(1 + 8, "padding")
    event_id = cursor.number(">I", "event id")
    pid = cursor.number(">Q", "pid") if options & _PID else None
    user = cursor.text("user") if options & _USER else None
    path = cursor.text("path")
    source = cursor.text("source path") if options & _SOURCE else None
    return FcePacket(version, event, event_id, path, pid, user, source)


def build_fce(packet: FcePacket) -> bytes:
    """The datagram afpd would send for ``packet`` (for tests and for spoof checks in the testbed)."""

    def text(value: str) -> bytes:
        raw = value.encode("utf-8", errors="surrogateescape")
        return struct.pack(">H", len(raw)) + raw

    if packet.version == 1:
        return MAGIC + struct.pack(">BBI", 1, packet.event, packet.event_id) + text(packet.path)
    options = (
        (_PID if packet.pid is not None else 0)
        | (_USER if packet.user is not None else 0)
        | (_SOURCE if packet.source_path is not None else 0)
    )
    out = MAGIC + struct.pack(">BBBB8xI", 2, options, packet.event, 0, packet.event_id)
    if packet.pid is not None:
        out += struct.pack(">Q", packet.pid)
    if packet.user is not None:
        out += text(packet.user)
    out += text(packet.path)
    if packet.source_path is not None:
        out += text(packet.source_path)
    return out
