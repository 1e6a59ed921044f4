"""`zfstm notify`'s datagram: a session end reported by a file server's hook (Samba's ``root postexec``).

Samba runs ``root postexec`` when a client disconnects from a share (documented smb.conf behaviour; no module
needed). The hook runs `zfstm notify --source samba --path %P`, which sends one datagram to the daemon's loopback
listener (the same port as netatalk's FCE). Format: ``zfstm-notice`` NUL source NUL path, UTF-8. Like FCE it comes
from anyone who can reach the port, so it is parsed as hostile input and counts only for configured shares.
"""

from __future__ import annotations

import attrs

from zfstm.events.model import EventSource

MAGIC = b"zfstm-notice\0"
#: The longest notice accepted (a path is at most a few KiB).
MAX_NOTICE = 8192
#: Sources a hook may claim (netatalk reports through FCE itself).
HOOK_SOURCES = (EventSource.SAMBA,)


class NoticeError(ValueError):
    """Not a well-formed notice."""


@attrs.frozen
class Notice:
    source: EventSource
    path: str


def build_notice(notice: Notice) -> bytes:
    return MAGIC + notice.source.value.encode() + b"\0" + notice.path.encode("utf-8", errors="surrogateescape")


def parse_notice(data: bytes) -> Notice:
    """The notice in ``data``; :class:`NoticeError` for anything else."""
    if len(data) > MAX_NOTICE:
        raise NoticeError(f"{len(data)} bytes is longer than any notice")
    if not data.startswith(MAGIC):
        raise NoticeError("no notice magic")
    source_raw, sep, path_raw = data[len(MAGIC) :].partition(b"\0")
    if not sep or b"\0" in path_raw:
        raise NoticeError("a notice is magic, source, NUL, path (no further NUL)")
    try:
        source = EventSource(source_raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise NoticeError("unknown notice source") from None
    if source not in HOOK_SOURCES:
        raise NoticeError(f"source {source.value} cannot be reported by a hook")
    path = path_raw.decode("utf-8", errors="surrogateescape")
    if not path.startswith("/"):
        raise NoticeError("the path is not absolute")
    return Notice(source, path)
