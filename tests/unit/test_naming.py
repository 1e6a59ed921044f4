"""Naming schemes: zfstm's UTC names, adopted legacy names in zones with DST, and the construction-time checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import DST_ZONES
from zfstm.errors import ConfigError
from zfstm.naming import DEFAULT_SCHEME, LEGACY_PATTERN, NamingScheme, legacy_scheme

instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.sampled_from([UTC])
)


def test_default_name_example() -> None:
    """The default scheme writes UTC, sortable names such as zfstm-20261128T021500Z."""
    assert DEFAULT_SCHEME.format(datetime(2026, 11, 28, 2, 15, tzinfo=UTC)) == "zfstm-20261128T021500Z"
    assert DEFAULT_SCHEME.format(datetime(2026, 11, 28, 3, 15, tzinfo=timezone(timedelta(hours=1)))) == (
        "zfstm-20261128T021500Z"
    )


@given(instants)
def test_default_round_trip(instant: datetime) -> None:
    """time -> name -> time gives the instant back (to the second); name -> time -> name gives the name back."""
    name = DEFAULT_SCHEME.format(instant)
    assert DEFAULT_SCHEME.parse(name) == instant.replace(microsecond=0)
    parsed = DEFAULT_SCHEME.parse(name)
    assert parsed is not None
    assert DEFAULT_SCHEME.format(parsed) == name


@given(instants, instants)
def test_default_names_sort_like_times(first: datetime, second: datetime) -> None:
    """Sorting names sorts snapshots by time."""
    a, b = DEFAULT_SCHEME.format(first), DEFAULT_SCHEME.format(second)
    assert (a < b) == (first.replace(microsecond=0) < second.replace(microsecond=0))


@given(st.sampled_from(DST_ZONES), st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 1, 1)))
def test_legacy_names_round_trip_in_their_zone(zone: str, wall: datetime) -> None:
    """A legacy name that names a real local time reads back as that local time; ambiguous ones as fold=0."""
    scheme = legacy_scheme(zone)
    wall = wall.replace(second=0, microsecond=0)
    name = wall.strftime("%Y%m%d_%H%M")
    parsed = scheme.parse(name)
    assert parsed is not None
    tz = ZoneInfo(zone)
    exists = wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall
    if exists:
        assert parsed.astimezone(tz).strftime("%Y%m%d_%H%M") == name
        assert parsed == wall.replace(tzinfo=tz, fold=0).astimezone(UTC)  # the first occurrence when repeated
    else:  # skipped by the spring change: read with the offset in force before it
        before = wall.replace(tzinfo=tz, fold=0).utcoffset()
        assert before is not None
        assert parsed == (wall - before).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "name", "expected"),
    [
        ("Europe/Berlin", "20261128_0215", "2026-11-28T01:15:00+00:00"),
        ("Europe/Berlin", "20261025_0230", "2026-10-25T00:30:00+00:00"),  # repeated hour: first (summer) one
        ("Europe/Berlin", "20260329_0230", "2026-03-29T01:30:00+00:00"),  # skipped hour: offset before the change
        ("America/New_York", "20261101_0130", "2026-11-01T05:30:00+00:00"),  # repeated: EDT first
        ("Australia/Lord_Howe", "20260405_0145", "2026-04-04T14:45:00+00:00"),  # half-hour repeat: +11 first
        ("Australia/Lord_Howe", "20261004_0215", "2026-10-03T15:45:00+00:00"),  # half-hour gap: +10:30 before
    ],
)
def test_legacy_dst_choices(zone: str, name: str, expected: str) -> None:
    """Ambiguous legacy names take fold=0; names in a DST gap take the offset before the change (documented)."""
    parsed = legacy_scheme(zone).parse(name)
    assert parsed is not None
    assert parsed.isoformat() == expected


def test_legacy_suffix_and_foreign_names() -> None:
    """Legacy names may carry a suffix; other names, and impossible dates, are not in the scheme."""
    scheme = legacy_scheme("Europe/Berlin")
    assert scheme.matches("20261128_0215")
    assert scheme.matches("20261128_0215_before-upgrade")
    assert not scheme.matches("manual-20261128_0215")
    assert not scheme.matches("20261332_0215")
    assert not scheme.matches("zfstm-20261128T021500Z")
    assert not DEFAULT_SCHEME.matches("zfstm-20261128T021500Z-extra")


def test_adopted_schemes_are_read_only() -> None:
    """zfstm never writes names in an adopted scheme."""
    with pytest.raises(ConfigError, match="read-only"):
        legacy_scheme("Europe/Berlin").format(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pattern": "zfstm-%Y%m%d"}, "missing %H %M"),
        ({"pattern": "zfstm-%Y%m%dT%H"}, "missing %M"),
        ({"pattern": "zfstm-%Y%m%dT%H%M%Z"}, "not supported"),
        ({"pattern": "a-%Y%m%d%H%M%Y"}, "twice"),
        ({"pattern": "snap/%Y%m%d%H%M"}, "cannot carry"),
        ({"pattern": "snap%%%Y%m%d%H%M"}, "not supported"),
        ({"pattern": "snap-%Y%m%d%H%M%"}, "lone %"),
        ({"pattern": DEFAULT_SCHEME.pattern, "zone": "Europe/Berlin"}, "daylight saving"),
        ({"pattern": LEGACY_PATTERN, "zone": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_lossy_or_ambiguous_schemes_are_rejected_at_construction(kwargs: dict[str, str], message: str) -> None:
    """A scheme that cannot round trip (lossy, ambiguous across DST, bad characters) fails when it is built."""
    with pytest.raises(ConfigError, match=message):
        NamingScheme(**kwargs)  # type: ignore[arg-type]


def test_fixed_offset_zone_and_minute_resolution_are_accepted() -> None:
    """A zone without DST may be written; a minute-resolution pattern truncates seconds."""
    scheme = NamingScheme(pattern="tm-%Y-%m-%d_%H.%M", zone="Asia/Kolkata")
    name = scheme.format(datetime(2026, 11, 28, 2, 15, 59, tzinfo=UTC))
    assert name == "tm-2026-11-28_07.45"
    assert scheme.parse(name) == datetime(2026, 11, 28, 2, 15, tzinfo=UTC)
    assert scheme.resolution == timedelta(minutes=1)
