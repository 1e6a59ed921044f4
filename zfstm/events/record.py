"""The last event per target, in the state directory: what `zfstm status` and `zfstm check` show.

Written by the daemon at most once per wakeup per target (a storm of packets is one write), read by anyone.
Losing or corrupting the file only hides the last event from status: the daemon keeps its session ends in memory.
A file with unexpected content reads as "no event".
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path

import attrs

from zfstm.events.model import EventKind, EventSource, SessionEvent
from zfstm.lock import lock_file_name

log = logging.getLogger("zfstm.events")

#: When the daemon started listening (so `check` can tell "no event yet" from "listening for a week, nothing").
LISTENING_FILE = "events-listening.json"


@attrs.frozen
class EventRecord:
    """The last event seen for a target, and the last session end among them (None: none yet)."""

    last: SessionEvent
    session_end: datetime | None = None


def events_file(state_dir: Path, target: str) -> Path:
    return state_dir / lock_file_name(target).replace(".lock", ".events.json")


def _write(path: Path, document: dict[str, object]) -> None:
    path.parent.mkdir(mode=0o770, parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document) + "\n", encoding="utf-8")
    temporary.replace(path)


def remember_event(state_dir: Path, event: SessionEvent, session_end: datetime | None) -> None:
    """Record ``event`` as the target's last one (atomically). A failure only logs."""
    document: dict[str, object] = {
        "target": event.target,
        "at": event.at.isoformat(),
        "source": event.source.value,
        "kind": event.kind.value,
        "detail": event.detail[:300],
        "session_end": session_end.isoformat() if session_end else None,
    }
    path = events_file(state_dir, event.target)
    try:
        _write(path, document)
    except OSError as exc:
        log.warning("%s: cannot record the last event in %s (%s); status will not show it", event.target, path, exc)


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def read_event(state_dir: Path | None, target: str) -> EventRecord | None:
    """The target's last recorded event, or None (none yet, or unreadable)."""
    if state_dir is None:
        return None
    try:
        saved = json.loads(events_file(state_dir, target).read_text(encoding="utf-8"))
        at = _time(saved["at"])
        event = SessionEvent(target, EventSource(saved["source"]), EventKind(saved["kind"]), at, str(saved["detail"]))  # type: ignore[arg-type]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return EventRecord(event, _time(saved.get("session_end")))


def remember_listening(state_dir: Path, since: datetime, sources: list[str]) -> None:
    try:
        _write(state_dir / LISTENING_FILE, {"since": since.isoformat(), "sources": sources})
    except OSError as exc:
        log.warning("cannot record in %s that the daemon listens for events (%s)", state_dir, exc)


def listening_since(state_dir: Path | None) -> datetime | None:
    """When the daemon last started listening for events, or None."""
    if state_dir is None:
        return None
    try:
        saved = json.loads((state_dir / LISTENING_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return _time(saved.get("since")) if isinstance(saved, dict) else None
