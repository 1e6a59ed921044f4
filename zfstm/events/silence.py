"""`zfstm check`'s view of events: a warning when they are configured but none arrived for a long time. Pure.

Events only speed snapshots up, so silence is a WARNING, never CRITICAL: the quiet-period detector still works.
Silence usually means afp.conf lacks the ``fce`` lines (or afpd was not restarted), the daemon is not running,
or another program holds the port.
"""

from __future__ import annotations

from datetime import datetime

from zfstm.check.verdict import Finding, State
from zfstm.config.model import Config, FileServerKind, Target
from zfstm.events.record import EventRecord
from zfstm.timemachine.timefmt import format_duration

METRIC = "events"


def silence_finding(
    config: Config, target: Target, record: EventRecord | None, listening: datetime | None, now: datetime
) -> Finding | None:
    """A WARNING when ``target`` should get events and none came for ``silence_warning``; None otherwise."""
    settings = config.events
    if settings.fce_listener is None or target.file_server.kind is not FileServerKind.NETATALK:
        return None
    if record is None and listening is None:
        return Finding(
            target.name,
            METRIC,
            State.WARNING,
            None,
            "events are configured ([events] fce_listener) but `zfstm daemon` never listened for them: "
            "is the daemon running?",
        )
    since = record.last.at if record is not None else listening
    assert since is not None
    quiet = now - since
    if quiet <= settings.silence_warning:
        return None
    what = "no event since the daemon started listening" if record is None else "no event"
    return Finding(
        target.name,
        METRIC,
        State.WARNING,
        quiet.total_seconds(),
        f"{what} for {format_duration(quiet)} (warning after {format_duration(settings.silence_warning)}): "
        "check afp.conf's fce lines (docs/events.md) and that `zfstm daemon` runs; snapshots wait for the quiet "
        "period meanwhile",
    )
