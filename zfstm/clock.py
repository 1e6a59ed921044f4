"""What time it is, as a value: a Clock protocol, the system clock, a fixed clock, and ISO-8601 instants.

"Now" is always a parameter of pure code; only the shell asks a Clock. Instants are aware datetimes in UTC, so
planning never depends on the host's time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

import attrs

from zfstm.errors import UsageError


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is refused, because guessing its zone could lose snapshots."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise UsageError(f"time {value.isoformat()} has no time zone: add Z or an offset such as +01:00")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise UsageError(f"time {value.isoformat()} is outside years 1-9999 in UTC") from None


class Clock(Protocol):
    """Something that says what time it is (aware, UTC)."""

    def now(self) -> datetime: ...


@attrs.frozen
class SystemClock:
    """The host's clock, read in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@attrs.frozen
class FixedClock:
    """A clock stopped at one instant: for tests, offline plans and `--now`."""

    instant: datetime = attrs.field(converter=as_utc)

    def now(self) -> datetime:
        return self.instant


def parse_instant(text: str) -> datetime:
    """Read an ISO-8601 instant such as ``2026-11-28T12:00:00Z`` or ``2026-11-28 13:00:00+01:00`` (UTC result)."""
    cleaned = text.strip()
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise UsageError(f"{text!r} is not an ISO-8601 time: write e.g. 2026-11-28T12:00:00Z") from None
    return as_utc(parsed)


def format_instant(value: datetime) -> str:
    """``2026-11-28T12:00:00Z``: the compact UTC form zfstm prints and accepts."""
    utc = as_utc(value)
    text = utc.isoformat(timespec="seconds" if utc.microsecond == 0 else "microseconds")
    return text.replace("+00:00", "Z")
