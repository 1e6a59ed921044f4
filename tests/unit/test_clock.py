"""Clocks and ISO-8601 instants: always aware, always UTC, naive times refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from zfstm.clock import FixedClock, SystemClock, as_utc, format_instant, parse_instant
from zfstm.errors import UsageError


def test_parse_instant_forms() -> None:
    """Z, offsets and a space separator are read, and the result is UTC."""
    assert parse_instant("2026-11-28T12:00:00Z") == datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert parse_instant("2026-11-28 13:00:00+01:00") == datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert parse_instant(" 2026-11-28T12:00Z ").tzinfo is UTC


@pytest.mark.parametrize("text", ["2026-11-28T12:00:00", "yesterday", ""])
def test_parse_instant_refuses_naive_or_garbage(text: str) -> None:
    """A time without a zone could be anything: it is refused with a usage error."""
    with pytest.raises(UsageError):
        parse_instant(text)


def test_format_instant_round_trips() -> None:
    """format_instant writes the compact Z form that parse_instant reads back."""
    instant = datetime(2026, 11, 28, 12, 0, 5, tzinfo=timezone(timedelta(hours=-5)))
    assert format_instant(instant) == "2026-11-28T17:00:05Z"
    assert parse_instant(format_instant(instant)) == instant


def test_clocks() -> None:
    """FixedClock returns its instant in UTC; SystemClock returns an aware UTC now."""
    fixed = FixedClock(datetime(2026, 11, 28, 13, tzinfo=timezone(timedelta(hours=1))))
    assert fixed.now() == datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert fixed.now().tzinfo is UTC
    assert SystemClock().now().tzinfo is UTC
    with pytest.raises(UsageError):
        as_utc(datetime(2026, 1, 1))
