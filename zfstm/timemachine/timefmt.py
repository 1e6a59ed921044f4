"""How times and durations are spelled in reasons and user properties: UTC, second precision, sortable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from attrs import Attribute


def format_utc(moment: datetime) -> str:
    """``2026-11-28T02:15:00Z``: ISO 8601 in UTC, what ``zfstm:tm-completed`` holds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> datetime | None:
    """The inverse of ``format_utc`` (any ISO 8601 with an offset is accepted); None when it is not one."""
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            return None
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # 9999-12-31T23:59:59-01:00 is after year 9999 in UTC
        return None


def format_duration(span: timedelta) -> str:
    """``1h 05m 03s`` style, for reasons a person reads; negative spans get a leading minus."""
    seconds = int(span.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours:02d}h {minutes:02d}m"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"


def aware(_instance: object, attribute: Attribute[Any], value: datetime | None) -> None:
    """attrs validator: comparing naive and aware datetimes raises deep inside a decision; refuse them up front."""
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{attribute.name} must be a timezone-aware datetime, got naive {value!r}")
