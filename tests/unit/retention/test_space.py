"""The space tier: above the usage threshold the oldest coarsest-tier keepers go first, never the protected ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import anchors, histories
from zfstm.retention import KNOWN_GOOD_HOLD, Policy, RetentionSnapshot, SpaceTier, plan

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def weekly_history() -> list[RetentionSnapshot]:
    snaps = [RetentionSnapshot(f"w{i:02d}", NOW - timedelta(weeks=20 - i)) for i in range(20)]
    snaps[0] = RetentionSnapshot("w00", snaps[0].time, holds=frozenset({KNOWN_GOOD_HOLD}))
    return snaps


def test_below_threshold_nothing_changes() -> None:
    """At or below the threshold the space tier does nothing."""
    policy = Policy(space=SpaceTier(above=0.9, per_run=3))
    assert plan(weekly_history(), NOW, policy, usage=0.9).decisions == plan(weekly_history(), NOW, policy).decisions


def test_above_threshold_oldest_weekly_go_first_but_not_known_good() -> None:
    """Above the threshold the oldest weekly-only keepers go (per_run of them); the known-good one stays."""
    policy = Policy(space=SpaceTier(above=0.9, per_run=3))
    result = plan(weekly_history(), NOW, policy, usage=0.95)
    assert [d.name for d in result.destroy] == ["w01", "w02", "w03"]
    assert result.destroy[0].reasons[0].startswith("space: dataset usage 95.0% above 90.0%")
    assert result.destroy[0].reasons[1].startswith("was weekly ")
    assert "w00" in {d.name for d in result.keep}


@given(anchors.flatmap(lambda now: st.tuples(st.just(now), histories(now))), st.integers(1, 50))
def test_space_tier_never_touches_protected_snapshots(
    scenario: tuple[datetime, list[RetentionSnapshot]], per_run: int
) -> None:
    """Never held, known-good, foreign, newest or min_keep; never more than per_run extra destroys."""
    now, snapshots = scenario
    policy = Policy(min_keep=2, space=SpaceTier(above=0.5, per_run=per_run))
    base = plan(snapshots, now, policy)
    full = plan(snapshots, now, policy, usage=0.99)
    extra = {d.name for d in full.destroy} - {d.name for d in base.destroy}
    assert len(extra) <= per_run
    assert {d.name for d in base.destroy} <= {d.name for d in full.destroy}
    managed = sorted((s for s in snapshots if s.managed), key=lambda s: (s.time, s.name))
    protected = {s.name for s in snapshots if s.holds or not s.managed} | {s.name for s in managed[-2:]}
    assert not (extra & protected)
