"""Decode Time Machine's plists without ever raising on bad input.

The Mac rewrites these files while zfstm reads them, Netatalk may leave them half-written, and a broken disk may
return garbage. A caller that asks "when did the last backup complete?" must get an answer or a reason, never a
traceback, so every decoder here returns a value or an ``Unreadable``.
"""

from __future__ import annotations

import plistlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TypeVar

import attrs

#: Larger plists are refused unread: Time Machine's are kilobytes, and a runaway file must not exhaust memory.
MAX_PLIST_BYTES = 16 * 1024 * 1024

T = TypeVar("T")


@attrs.frozen
class Unreadable:
    """A file that could not be used, and why; callers go on with what else they know."""

    reason: str
    missing: bool = False

    def __str__(self) -> str:
        return self.reason


def load_dict(data: bytes, *, what: str) -> dict[str, object] | Unreadable:
    """Decode an XML or binary plist whose top level must be a dictionary."""
    if not data:
        return Unreadable(f"{what} is empty")
    if len(data) > MAX_PLIST_BYTES:
        return Unreadable(f"{what} is {len(data)} bytes, more than the {MAX_PLIST_BYTES} a plist may have here")
    try:
        value = plistlib.loads(data)
    # plistlib raises a zoo of exception types on corrupt input (InvalidFileException, ExpatError, ValueError,
    # TypeError, OverflowError, IndexError, RecursionError...): any of them means "not a usable plist".
    except Exception as exc:
        return Unreadable(f"{what} is not a valid plist ({type(exc).__name__}: {exc})")
    if not isinstance(value, dict):
        return Unreadable(f"{what} holds a {type(value).__name__} at the top, not a dictionary")
    return {str(key): item for key, item in value.items()}


def first_readable(primary: T | Unreadable, backup: T | Unreadable) -> T | Unreadable:
    """Prefer the primary file, fall back to Apple's ``.bckup`` copy, and keep both reasons when neither works."""
    if not isinstance(primary, Unreadable):
        return primary
    if not isinstance(backup, Unreadable):
        return backup
    return Unreadable(f"{primary.reason}; backup copy: {backup.reason}", missing=primary.missing and backup.missing)


def as_utc(moment: datetime) -> datetime:
    """plistlib returns naive datetimes that mean UTC; zfstm only handles aware ones."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def get_int(fields: Mapping[str, object], key: str, problems: list[str]) -> int | None:
    """An integer field, or None (noting a problem) when it is absent or of another type."""
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{key} is a {type(value).__name__}, expected an integer")
        return None
    return value


def get_str(fields: Mapping[str, object], key: str, problems: list[str]) -> str | None:
    """A string field, or None (noting a problem) when it is absent or of another type."""
    value = fields.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{key} is a {type(value).__name__}, expected a string")
        return None
    return value


def get_date(fields: Mapping[str, object], key: str, problems: list[str]) -> datetime | None:
    """A date field in UTC, or None (noting a problem) when it is absent or of another type."""
    value = fields.get(key)
    if value is None:
        return None
    if not isinstance(value, datetime):
        problems.append(f"{key} is a {type(value).__name__}, expected a date")
        return None
    return as_utc(value)
