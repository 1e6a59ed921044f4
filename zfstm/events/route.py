"""Which target an FCE packet speaks for: pure, over the configured shares and the sessions seen so far.

A file event counts only when its path lies inside a configured netatalk share (other volumes, and paths made up
by a sender, are dropped). A logout carries no path: its pid names the session, and the session's earlier file
events name the targets it wrote to. A logout whose session wrote nothing seen here (version 1 has no pid; FCE
may be set to login and logout only) is offered to every netatalk target: that only makes the daemon look, and
the detector still wants a newer completion and no open session before it calls a backup finished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType

import attrs

from zfstm.events.fce import FceEvent, FcePacket
from zfstm.events.model import EventKind, EventSource, SessionEvent
from zfstm.events.notice import Notice

#: Sessions remembered at most (a flood of made-up pids must not grow the daemon without bound).
MAX_SESSIONS = 1024
_FILE_EVENTS = frozenset(
    {
        FceEvent.FILE_MODIFY,
        FceEvent.FILE_DELETE,
        FceEvent.DIR_DELETE,
        FceEvent.FILE_CREATE,
        FceEvent.DIR_CREATE,
        FceEvent.FILE_MOVE,
        FceEvent.DIR_MOVE,
    }
)


def _frozen(value: Mapping[int, frozenset[str]]) -> Mapping[int, frozenset[str]]:
    return MappingProxyType(dict(value))


@attrs.frozen
class Sessions:
    """pid -> the targets its session wrote to, oldest session first."""

    touched: Mapping[int, frozenset[str]] = attrs.field(factory=dict, converter=_frozen)


def target_of(path: str, shares: Sequence[tuple[str, str]]) -> str | None:
    """The target whose share holds ``path`` (the longest share path wins); None outside every share."""
    if not path.startswith("/") or "/../" in path + "/" or "\0" in path:
        return None
    best: tuple[int, str] | None = None
    for target, share in shares:
        root = share.rstrip("/") or "/"
        inside = path == root or path.startswith(root + "/") or root == "/"
        if inside and (best is None or len(root) > best[0]):
            best = (len(root), target)
    return best[1] if best else None


def route_fce(
    packet: FcePacket, shares: Sequence[tuple[str, str]], sessions: Sessions, at: datetime
) -> tuple[tuple[SessionEvent, ...], Sessions]:
    """The events ``packet`` means for the targets ``shares`` (target, share path), and the sessions after it."""
    touched = dict(sessions.touched)
    who = " ".join(part for part in (packet.user or "", f"pid {packet.pid}" if packet.pid is not None else "") if part)
    if packet.event in _FILE_EVENTS:
        target = target_of(packet.path, shares)
        if target is None:
            return (), sessions
        if packet.pid is not None:
            seen = touched.pop(packet.pid, frozenset())
            touched[packet.pid] = seen | {target}
            while len(touched) > MAX_SESSIONS:
                del touched[next(iter(touched))]
        detail = f"{packet.event.name.lower()} {packet.path}" + (f" by {who}" if who else "")
        return (SessionEvent(target, EventSource.FCE, EventKind.WRITE, at, detail),), Sessions(touched)
    if packet.event is FceEvent.LOGOUT:
        wrote = touched.pop(packet.pid, frozenset()) if packet.pid is not None else frozenset()
        names = sorted(wrote) if wrote else sorted({target for target, _ in shares})
        detail = f"logout{' of ' + who if who else ''}" + ("" if wrote else " (session not seen writing: every share)")
        events = tuple(SessionEvent(name, EventSource.FCE, EventKind.LOGOUT, at, detail) for name in names)
        return events, Sessions(touched)
    return (), sessions


def route_notice(notice: Notice, shares: Sequence[tuple[str, str]], at: datetime) -> tuple[SessionEvent, ...]:
    """A hook's session end for the target whose share is ``notice.path`` (nothing outside configured shares)."""
    target = target_of(notice.path, shares)
    if target is None:
        return ()
    return (SessionEvent(target, notice.source, EventKind.LOGOUT, at, f"disconnect from {notice.path}"),)
