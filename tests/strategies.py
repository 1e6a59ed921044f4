"""Shared Hypothesis strategies: time zones with DST, instants near their transitions, snapshot histories, policies.

Histories cluster around DST transitions of the zones under test (Europe/Berlin, America/New_York and
Australia/Lord_Howe with its half-hour shift) as well as spreading over weeks and years, so that bucket boundaries,
repeated and skipped local hours are hit often.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from zfstm.retention.policy import Pick, Policy, Tier, Unit
from zfstm.retention.snapshots import KNOWN_GOOD_HOLD, RetentionSnapshot

DST_ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe")
ZONES = ("UTC", *DST_ZONES)


def transitions(zone: str, years: range = range(2024, 2028)) -> list[datetime]:
    """UTC instants (to the minute) at which ``zone`` changes its offset, found by scanning; for anchoring tests."""
    tz = ZoneInfo(zone)
    found = []
    for year in years:
        instant = datetime(year, 1, 1, tzinfo=UTC)
        end = datetime(year + 1, 1, 1, tzinfo=UTC)
        step = timedelta(days=1)
        while instant < end:
            after = instant + step
            if instant.astimezone(tz).utcoffset() != after.astimezone(tz).utcoffset():
                low, high = instant, after
                while high - low > timedelta(minutes=1):
                    middle = low + (high - low) / 2
                    if low.astimezone(tz).utcoffset() == middle.astimezone(tz).utcoffset():
                        low = middle
                    else:
                        high = middle
                found.append(high.replace(second=0, microsecond=0))
            instant = after
    return found


TRANSITIONS = sorted({instant for zone in DST_ZONES for instant in transitions(zone)})

zones = st.sampled_from(ZONES)
dst_zones = st.sampled_from(DST_ZONES)

#: Anchors: DST transitions of the zones under test, and plain instants between 2024 and 2027.
anchors = st.one_of(
    st.sampled_from(TRANSITIONS),
    st.integers(
        int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()), int(datetime(2028, 1, 1, tzinfo=UTC).timestamp())
    ).map(lambda epoch: datetime.fromtimestamp(epoch, UTC)),
)

#: Seconds before "now" at which a snapshot was taken: dense minutes, hours around a day, weeks, years.
ages = st.one_of(
    st.integers(0, 3 * 3600),
    st.integers(0, 3 * 86400),
    st.integers(20 * 86400, 40 * 86400),
    st.integers(0, 120 * 86400),
    st.integers(0, 3 * 365 * 86400),
)

holds = st.one_of(
    st.just(frozenset[str]()),
    st.just(frozenset[str]()),
    st.just(frozenset[str]()),
    st.just(frozenset({KNOWN_GOOD_HOLD})),
    st.just(frozenset({"backup-in-flight"})),
    st.just(frozenset({KNOWN_GOOD_HOLD, "user"})),
)


@st.composite
def histories(
    draw: st.DrawFn, now: datetime, *, max_size: int = 40, foreign: bool = True, held: bool = True
) -> list[RetentionSnapshot]:
    """Snapshots taken before ``now`` (a few slightly after, never beyond the clock tolerance); unique names."""
    count = draw(st.integers(0, max_size))
    result = []
    for index in range(count):
        age = draw(ages)
        time = now - timedelta(seconds=age)
        result.append(
            RetentionSnapshot(
                name=f"tank/tm@s{index:03d}",
                time=time,
                managed=not (foreign and draw(st.integers(0, 9)) == 0),
                holds=draw(holds) if held and draw(st.integers(0, 7)) == 0 else frozenset(),
            )
        )
    if count > 2 and draw(st.booleans()):
        # Equal times happen (two snapshots in one second): ties are ordered by name.
        twin = result[draw(st.integers(0, count - 1))]
        result[0] = RetentionSnapshot(name=result[0].name, time=twin.time, managed=True, holds=result[0].holds)
    return result


def _tier(unit: Unit | None, limits: st.SearchStrategy[timedelta | None]) -> st.SearchStrategy[Tier | None]:
    return st.one_of(st.none(), limits.map(lambda limit: Tier(unit, limit)))


hour_limits = st.sampled_from([timedelta(hours=1), timedelta(hours=6), timedelta(hours=24), timedelta(days=2), None])
day_limits = st.sampled_from([timedelta(days=1), timedelta(days=7), timedelta(days=31), None])
week_limits = st.sampled_from([timedelta(weeks=8), timedelta(days=365), None])
month_limits = st.sampled_from([timedelta(days=400), None])
all_limits = st.sampled_from([timedelta(minutes=30), timedelta(hours=3)])


@st.composite
def policies(draw: st.DrawFn, zone: str | None = None) -> Policy:
    """Random tier sets (any tier may be absent; `all` may appear), pick, week start, min_keep and zone."""
    tiers = [
        draw(st.one_of(st.none(), all_limits.map(lambda limit: Tier(None, limit)))),
        draw(_tier(Unit.HOUR, hour_limits)),
        draw(_tier(Unit.DAY, day_limits)),
        draw(_tier(Unit.WEEK, week_limits)),
        draw(st.one_of(st.none(), st.none(), month_limits.map(lambda limit: Tier(Unit.MONTH, limit)))),
    ]
    return Policy(
        tiers=tuple(tier for tier in tiers if tier is not None),
        zone=zone if zone is not None else draw(zones),
        pick=draw(st.sampled_from(Pick)),
        week_start=draw(st.sampled_from([0, 0, 6, 2])),
        min_keep=draw(st.integers(1, 4)),
    )


default_like_policies = st.builds(lambda zone, pick: Policy(zone=zone, pick=pick), zones, st.sampled_from(Pick))
