"""Hand-made plans: the reasons vocabulary, the `all` tier, pick=first, absent tiers, DST days, foreign holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import attrs

from zfstm.retention import KNOWN_GOOD_HOLD, Pick, Policy, RetentionSnapshot, Tier, Unit, plan

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def snap(name: str, minutes_ago: int, **kwargs: object) -> RetentionSnapshot:
    return RetentionSnapshot(name=name, time=NOW - timedelta(minutes=minutes_ago), **kwargs)  # type: ignore[arg-type]


def reasons_of(result: object) -> dict[str, tuple[bool, tuple[str, ...]]]:
    return {d.name: (d.keep, d.reasons) for d in result.decisions}  # type: ignore[attr-defined]


def test_reason_vocabulary() -> None:
    """Keep reasons name the bucket and zone; destroy reasons say who represents the bucket, or that it is too old."""
    policy = Policy(tiers=(Tier(Unit.HOUR, timedelta(hours=24)), Tier(Unit.DAY, timedelta(days=7))), zone="UTC")
    result = reasons_of(
        plan(
            [
                snap("a", 10 * 24 * 60),
                snap("b", 90),
                snap("c", 70),
                snap("d", 5, holds=frozenset({KNOWN_GOOD_HOLD})),
                snap("x", 60, managed=False, holds=frozenset({"user"})),
            ],
            NOW,
            policy,
        )
    )
    assert result["a"] == (False, ("older than every tier",))
    assert result["b"] == (
        False,
        (
            "not a representative: hourly 2026-11-28 10:00 (UTC) kept by c",
            "not a representative: daily 2026-11-28 (UTC) kept by d",
        ),
    )
    assert result["c"] == (True, ("hourly 2026-11-28 10:00 (UTC)",))
    assert result["d"] == (
        True,
        (
            "hourly 2026-11-28 11:00 (UTC)",
            "daily 2026-11-28 (UTC)",
            "newest",
            "min_keep 1",
            f"held: {KNOWN_GOOD_HOLD}",
            "known-good",
        ),
    )
    assert result["x"] == (True, ("foreign", "held: user"))


def test_partly_too_old_and_pick_first() -> None:
    """With pick=first a bucket's representative may be too old for the tier: the destroy reason says so."""
    policy = Policy(tiers=(Tier(Unit.HOUR, timedelta(minutes=30)),), pick=Pick.FIRST, min_keep=1)
    result = reasons_of(plan([snap("early", 50), snap("late", 20), snap("newest", 1)], NOW, policy))
    assert result["early"] == (False, ("older than every tier",))
    assert result["late"] == (
        False,
        ("not a representative: hourly 2026-11-28 11:00 (UTC) represented by early, older than 30m for hourly",),
    )
    assert result["newest"][0]


def test_all_tier_and_min_keep() -> None:
    """The `all` tier keeps everything younger than its limit; min_keep keeps the newest N whatever the tiers."""
    policy = Policy(tiers=(Tier(None, timedelta(hours=1)),), min_keep=3)
    result = reasons_of(plan([snap(f"s{i}", 200 - 30 * i) for i in range(7)], NOW, policy))
    # ages: s0 200 min ... s4 80, s5 50, s6 20 minutes
    kept = {name for name, (keep, _) in result.items() if keep}
    assert kept == {"s4", "s5", "s6"}
    assert result["s6"][1] == ("all: younger than 1h", "newest", "min_keep 3")
    assert result["s5"][1] == ("all: younger than 1h", "min_keep 3")
    assert result["s4"][1] == ("min_keep 3",)
    assert result["s0"] == (False, ("older than every tier",))


def test_no_tiers_keeps_only_the_floor() -> None:
    """With every tier absent only the always-kept snapshots stay."""
    result = plan([snap("a", 30), snap("b", 20), snap("c", 10)], NOW, Policy(tiers=()))
    assert [d.name for d in result.keep] == ["c"]
    assert all(d.reasons == ("older than every tier",) for d in result.destroy)


def test_autumn_repeated_hour_is_one_bucket() -> None:
    """Europe/Berlin 2026-10-25: 02:xx happens twice; hourly snapshots in both keep ONE hourly representative."""
    now = datetime(2026, 10, 25, 6, 0, tzinfo=UTC)
    first_0215 = datetime(2026, 10, 25, 0, 15, tzinfo=UTC)  # 02:15 CEST
    second_0215 = datetime(2026, 10, 25, 1, 15, tzinfo=UTC)  # 02:15 CET
    snaps = [RetentionSnapshot("first", first_0215), RetentionSnapshot("second", second_0215)]
    result = plan(
        [*snaps, RetentionSnapshot("later", now)], now, Policy(zone="Europe/Berlin", tiers=(Tier(Unit.HOUR, None),))
    )
    decided = reasons_of(result)
    assert decided["second"] == (True, ("hourly 2026-10-25 02:00 (Europe/Berlin)",))
    assert decided["first"][0] is False


def test_local_day_differs_from_utc_day() -> None:
    """23:30 UTC on the 27th is the 28th in Berlin: the daily bucket follows the configured zone."""
    snaps = [
        RetentionSnapshot("a", datetime(2026, 11, 27, 22, 30, tzinfo=UTC)),
        RetentionSnapshot("b", datetime(2026, 11, 27, 23, 30, tzinfo=UTC)),
    ]
    policy = Policy(zone="Europe/Berlin", tiers=(Tier(Unit.DAY, None),))
    decided = reasons_of(plan(snaps, NOW, policy))
    assert decided["a"][1] == ("daily 2026-11-27 (Europe/Berlin)",)
    assert decided["b"][1][0] == "daily 2026-11-28 (Europe/Berlin)"
    utc = reasons_of(plan(snaps, NOW, Policy(tiers=(Tier(Unit.DAY, None),))))
    assert utc["a"][0] is False


def test_empty_history() -> None:
    """No snapshots, no decisions, nothing refused."""
    result = plan([], NOW)
    assert result.decisions == ()
    assert result.refusal() is None


def test_a_snapshot_stores_its_epoch_and_gives_its_time() -> None:
    """A RetentionSnapshot keeps POSIX seconds, not a datetime (48 bytes a snapshot at a million lines); ``time`` is
    the UTC whole second it was given, and equal snapshots stay equal."""
    given = datetime(2026, 3, 29, 1, 30, 15, 999, tzinfo=ZoneInfo("Europe/Berlin"))
    snap = RetentionSnapshot("tank/tm@a", given)
    assert "time" not in {field.name for field in attrs.fields(RetentionSnapshot)}
    assert snap.time == given.replace(microsecond=0) and snap.time.tzinfo is UTC
    again = RetentionSnapshot("tank/tm@a", snap.time)
    assert snap == again and hash(snap) == hash(again)
