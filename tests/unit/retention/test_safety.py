"""The guards: a clock that looks wrong and the circuit breaker refuse a prune; --force overrides only the breaker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfstm.errors import CircuitBreakerError, ClockSkewError, SafetyRefusal
from zfstm.retention import Policy, RetentionSnapshot, Tier, Unit, plan

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ONLY_HOURLY = (Tier(Unit.HOUR, timedelta(hours=24)),)


def hourly(count: int, step: timedelta = timedelta(minutes=10)) -> list[RetentionSnapshot]:
    return [RetentionSnapshot(f"tank/tm@s{i:04d}", NOW - step * (count - i)) for i in range(count)]


def test_future_snapshot_beyond_tolerance_is_clock_skew_even_when_forced() -> None:
    """A managed snapshot dated after now + tolerance makes prune refuse with ClockSkewError, force or not."""
    snaps = [*hourly(3), RetentionSnapshot("tank/tm@future", NOW + timedelta(minutes=16))]
    result = plan(snaps, NOW, Policy(clock_tolerance=timedelta(minutes=15)), dataset="tank/tm")
    assert [s.name for s in result.future] == ["tank/tm@future"]
    for force in (False, True):
        with pytest.raises(ClockSkewError, match="clock looks wrong"):
            result.check(force=force)
    assert isinstance(result.refusal(), SafetyRefusal)


def test_future_within_tolerance_and_foreign_future_are_fine() -> None:
    """Within the tolerance, or a foreign snapshot in the future, is not clock skew."""
    snaps = [
        *hourly(3),
        RetentionSnapshot("tank/tm@soon", NOW + timedelta(minutes=15)),
        RetentionSnapshot("tank/tm@theirs", NOW + timedelta(days=3), managed=False),
    ]
    plan(snaps, NOW, Policy()).check()


def test_circuit_breaker_and_force() -> None:
    """Destroying more than the share (and at least breaker_min) refuses unless forced."""
    result = plan(hourly(60), NOW, Policy(tiers=ONLY_HOURLY), dataset="tank/tm")
    assert len(result.destroy) > 30
    with pytest.raises(CircuitBreakerError, match="--force"):
        result.check()
    result.check(force=True)
    assert plan(hourly(60), NOW, Policy(tiers=ONLY_HOURLY, max_destroy_share=1.0)).refusal() is None


def test_breaker_ignores_small_runs() -> None:
    """A run destroying fewer than breaker_min snapshots never trips the breaker (day-one datasets)."""
    result = plan(hourly(6), NOW, Policy(tiers=ONLY_HOURLY))
    assert len(result.destroy) == 5
    assert result.refusal() is None
    assert plan(hourly(6), NOW, Policy(tiers=ONLY_HOURLY, breaker_min=5)).breaker_tripped


@given(st.integers(0, 80), st.floats(0.05, 1.0), st.integers(1, 20))
def test_breaker_definition(count: int, share: float, minimum: int) -> None:
    """The breaker trips exactly when destroy > share * total and destroy >= breaker_min."""
    policy = Policy(tiers=ONLY_HOURLY, max_destroy_share=share, breaker_min=minimum)
    result = plan(hourly(count), NOW, policy)
    destroyed = len(result.destroy)
    assert result.breaker_tripped == (destroyed >= minimum and destroyed > share * count)


@given(
    st.lists(st.integers(-3 * 3600, 3 * 3600), max_size=20),
    st.integers(0, 3600),
    st.booleans(),
)
def test_future_is_exactly_the_managed_snapshots_beyond_tolerance(
    offsets: list[int], tolerance: int, foreign: bool
) -> None:
    """Plan.future lists exactly the managed snapshots dated after now + tolerance; foreign ones never count."""
    snaps = [
        RetentionSnapshot(f"s{i:02d}", NOW + timedelta(seconds=offset), managed=not (foreign and i % 2 == 0))
        for i, offset in enumerate(offsets)
    ]
    result = plan(snaps, NOW, Policy(clock_tolerance=timedelta(seconds=tolerance)))
    expected = {s.name for s in snaps if s.managed and s.time > NOW + timedelta(seconds=tolerance)}
    assert {s.name for s in result.future} == expected
    assert (result.refusal(force=True) is not None) == bool(expected)
