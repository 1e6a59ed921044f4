"""Calendar buckets: agree with wall-clock labels, nest (hour in day in week) and behave across DST changes."""

from __future__ import annotations

from array import array
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import TRANSITIONS, ZONES, dst_zones
from tests.unit.retention.reference import bucket_label
from zfstm.retention.calendar import LocalCalendar
from zfstm.retention.policy import Unit

epochs = st.one_of(
    st.integers(int(datetime(1990, 1, 1, tzinfo=UTC).timestamp()), int(datetime(2037, 1, 1, tzinfo=UTC).timestamp())),
    st.tuples(st.sampled_from(TRANSITIONS), st.integers(-7200, 7200)).map(
        lambda pair: int(pair[0].timestamp()) + pair[1]
    ),
)


@given(st.sampled_from(ZONES), st.sampled_from(range(7)), st.lists(epochs, min_size=1, max_size=30))
def test_keys_and_labels_agree_with_the_wall_clock(zone: str, week_start: int, stamps: list[int]) -> None:
    """Every bucket label equals the wall-clock label of the instant (independent datetime computation)."""
    calendar = LocalCalendar(zone, week_start)
    ordered = sorted(stamps)
    local = calendar.local_seconds(ordered)
    for unit in Unit:
        keys = calendar.keys(unit, local)
        for stamp, key in zip(ordered, keys, strict=True):
            instant = datetime.fromtimestamp(stamp, UTC)
            assert calendar.label(unit, key) == bucket_label(unit, instant, zone, week_start)


@given(dst_zones, st.sampled_from(range(7)), st.lists(epochs, min_size=1, max_size=30))
def test_hours_nest_in_days_and_days_in_weeks(zone: str, week_start: int, stamps: list[int]) -> None:
    """Two instants in one hour bucket share their day; in one day bucket, their week (also across DST)."""
    calendar = LocalCalendar(zone, week_start)
    ordered = sorted(stamps)
    local = calendar.local_seconds(ordered)
    hours, days, weeks = (calendar.keys(unit, local) for unit in (Unit.HOUR, Unit.DAY, Unit.WEEK))
    hour_to_day: dict[int, int] = {}
    day_to_week: dict[int, int] = {}
    for hour, day, week in zip(hours, days, weeks, strict=True):
        assert hour_to_day.setdefault(hour, day) == day
        assert day_to_week.setdefault(day, week) == week


@given(st.sampled_from(ZONES), epochs)
def test_offset_cache_is_exact(zone: str, stamp: int) -> None:
    """The per-day offset cache gives the zone's exact offset, also within a second of a transition."""
    calendar = LocalCalendar(zone)
    for probe in (stamp - 1, stamp, stamp + 1):
        calendar.offset(probe - 86400)  # warm the neighbouring slots
        offset = datetime.fromtimestamp(probe, UTC).astimezone(ZoneInfo(zone)).utcoffset()
        assert offset is not None
        assert list(calendar.local_seconds([probe])) == [probe + int(offset.total_seconds())]


def _hour_buckets_of_local_day(zone: str, day: date) -> tuple[int, float]:
    """Number of hour buckets in a local day, and its length in real hours."""
    tz = ZoneInfo(zone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    end = (datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(days=1)).astimezone(UTC)
    calendar = LocalCalendar(zone)
    stamps = list(range(int(start.timestamp()), int(end.timestamp()), 60))
    days = set(calendar.keys(Unit.DAY, calendar.local_seconds(stamps)))
    assert len(days) == 1
    hours = set(calendar.keys(Unit.HOUR, calendar.local_seconds(stamps)))
    return len(hours), (end - start).total_seconds() / 3600


def test_dst_days() -> None:
    """Spring: 23 hour buckets in 23 h; autumn: the repeated hour is one bucket (24 buckets in 25 h);
    Lord Howe's half-hour change: 24 buckets in 23.5 h and 24.5 h."""
    assert _hour_buckets_of_local_day("Europe/Berlin", date(2026, 3, 29)) == (23, 23.0)
    assert _hour_buckets_of_local_day("Europe/Berlin", date(2026, 10, 25)) == (24, 25.0)
    assert _hour_buckets_of_local_day("America/New_York", date(2026, 11, 1)) == (24, 25.0)
    assert _hour_buckets_of_local_day("Australia/Lord_Howe", date(2026, 10, 4)) == (24, 23.5)
    assert _hour_buckets_of_local_day("Australia/Lord_Howe", date(2026, 4, 5)) == (24, 24.5)


def test_labels() -> None:
    """Labels read like the calendar: hour, day, ISO week (or week-of for other week starts), month."""
    calendar = LocalCalendar("Europe/Berlin")
    local = calendar.local_seconds([int(datetime(2026, 11, 28, 12, 30, tzinfo=UTC).timestamp())])
    assert calendar.label(Unit.HOUR, calendar.keys(Unit.HOUR, local)[0]) == "2026-11-28 13:00"
    assert calendar.label(Unit.DAY, calendar.keys(Unit.DAY, local)[0]) == "2026-11-28"
    assert calendar.label(Unit.WEEK, calendar.keys(Unit.WEEK, local)[0]) == "2026-W48"
    assert calendar.label(Unit.MONTH, calendar.keys(Unit.MONTH, local)[0]) == "2026-11"
    sunday = LocalCalendar("Europe/Berlin", week_start=6)
    assert sunday.label(Unit.WEEK, sunday.keys(Unit.WEEK, local)[0]) == "week of Sun 2026-11-22"


def test_bucket_keys_are_compact_arrays() -> None:
    """Local seconds and bucket keys are 8-byte arrays, not lists of new ints (40 bytes each): an offline plan of a
    million lines stays within 5x its input (docs/benchmarks.md, bench_offline_memory.py)."""
    calendar = LocalCalendar("Europe/Berlin")
    local = calendar.local_seconds([0, 3600, 86400 * 40])
    assert isinstance(local, array) and local.itemsize == 8
    for unit in Unit:
        keys = calendar.keys(unit, memoryview(local))
        assert isinstance(keys, array) and list(keys) == list(calendar.keys(unit, list(local)))
