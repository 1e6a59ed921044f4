"""Property tests of the planner over random histories, DST zones and random "now": invariants, idempotence, no
regret, and agreement with the naive reference planner in reference.py."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import anchors, histories, policies
from tests.unit.retention.reference import bucket_label, reference_plan
from zfstm.retention import RetentionSnapshot, plan
from zfstm.retention.plan import Plan
from zfstm.retention.policy import Pick, Policy
from zfstm.retention.snapshots import KNOWN_GOOD_HOLD


@st.composite
def scenarios(draw: st.DrawFn, max_size: int = 40) -> tuple[list[RetentionSnapshot], datetime, Policy]:
    now = draw(anchors)
    return draw(histories(now, max_size=max_size)), now, draw(policies())


def _kept_names(result: Plan) -> set[str]:
    return {decision.name for decision in result.keep}


@given(scenarios())
def test_agrees_with_the_naive_reference(scenario: tuple[list[RetentionSnapshot], datetime, Policy]) -> None:
    """Keep/destroy and the set of keep reasons equal those of the naive reference planner."""
    snapshots, now, policy = scenario
    result = plan(snapshots, now, policy)
    expected = reference_plan(snapshots, now, policy)
    got = {
        decision.name: (decision.keep, frozenset(decision.reasons) if decision.keep else frozenset())
        for decision in result.decisions
    }
    assert got == expected


@given(scenarios())
def test_every_snapshot_decided_once_with_reasons(scenario: tuple[list[RetentionSnapshot], datetime, Policy]) -> None:
    """Each input snapshot appears exactly once, oldest first, and every decision has at least one reason."""
    snapshots, now, policy = scenario
    result = plan(snapshots, now, policy)
    assert sorted(d.name for d in result.decisions) == sorted(s.name for s in snapshots)
    assert all(decision.reasons for decision in result.decisions)
    times = [decision.time for decision in result.decisions]
    assert times == sorted(times)


@given(scenarios())
def test_always_kept(scenario: tuple[list[RetentionSnapshot], datetime, Policy]) -> None:
    """Newest managed, the newest min_keep, held, known-good and foreign snapshots are never destroyed."""
    snapshots, now, policy = scenario
    result = plan(snapshots, now, policy)
    destroyed = {decision.name for decision in result.destroy}
    managed = sorted((s for s in snapshots if s.managed), key=lambda s: (s.time, s.name))
    for snap in managed[-policy.min_keep :]:
        assert snap.name not in destroyed
    for snap in snapshots:
        if snap.holds or not snap.managed:
            assert snap.name not in destroyed
    for decision in result.decisions:
        if KNOWN_GOOD_HOLD in decision.snapshot.holds:
            assert "known-good" in decision.reasons
        if not decision.snapshot.managed:
            assert decision.reasons[0] == "foreign"


@given(scenarios())
def test_one_keeper_per_bucket_and_each_young_bucket_kept(
    scenario: tuple[list[RetentionSnapshot], datetime, Policy],
) -> None:
    """Per calendar tier: at most one snapshot is kept for each bucket, and every bucket with a young-enough
    representative has it kept; foreign snapshots never represent a bucket."""
    snapshots, now, policy = scenario
    result = plan(snapshots, now, policy)
    for tier in policy.tiers:
        if tier.unit is None:
            continue
        prefix = f"{tier.unit.value} "
        by_label: dict[str, list[str]] = {}
        for decision in result.keep:
            for reason in decision.reasons:
                if reason.startswith(prefix):
                    by_label.setdefault(reason, []).append(decision.name)
        assert all(len(names) == 1 for names in by_label.values())
        for decision in result.decisions:
            if not decision.snapshot.managed:
                assert not any(reason.startswith(prefix) for reason in decision.reasons)
        managed = [s for s in snapshots if s.managed]
        buckets: dict[str, list[RetentionSnapshot]] = {}
        for snap in managed:
            buckets.setdefault(bucket_label(tier.unit, snap.time, policy.zone, policy.week_start), []).append(snap)
        for label, members in buckets.items():
            order = sorted(members, key=lambda s: (s.time, s.name))
            rep = order[-1] if policy.pick.value == "last" else order[0]
            if tier.max_age is None or now - rep.time < tier.max_age:
                assert by_label.get(f"{tier.unit.value} {label} ({policy.zone})") == [rep.name]


@given(scenarios())
def test_input_order_does_not_matter(scenario: tuple[list[RetentionSnapshot], datetime, Policy]) -> None:
    """Shuffling the input gives the same plan."""
    snapshots, now, policy = scenario
    shuffled = list(snapshots)
    random.Random(len(snapshots)).shuffle(shuffled)
    assert plan(snapshots, now, policy).decisions == plan(shuffled, now, policy).decisions


@given(scenarios())
def test_idempotent(scenario: tuple[list[RetentionSnapshot], datetime, Policy]) -> None:
    """Re-planning after the destroys were applied destroys nothing more; with pick=last the reasons stay the same.

    (With pick=first a destroyed, too-old first snapshot hands its bucket to the next one, which may then gain a
    tier reason: more reasons to keep, never fewer.)"""
    snapshots, now, policy = scenario
    first = plan(snapshots, now, policy)
    survivors = [decision.snapshot for decision in first.keep]
    second = plan(survivors, now, policy)
    assert second.destroy == ()
    assert [d.snapshot for d in second.decisions] == [d.snapshot for d in first.keep]
    for before, after in zip(first.keep, second.decisions, strict=True):
        assert set(before.reasons) <= set(after.reasons)
        if policy.pick is Pick.LAST:
            assert before.reasons == after.reasons


@given(scenarios(), st.integers(0, 400 * 86400), st.lists(st.integers(0, 400 * 86400), max_size=10))
def test_no_regret(scenario: tuple[list[RetentionSnapshot], datetime, Policy], later: int, new_ages: list[int]) -> None:
    """A snapshot destroyed at t is not kept by the plan at any t' >= t, even with newer snapshots taken since."""
    snapshots, now, policy = scenario
    first = plan(snapshots, now, policy)
    destroyed = {decision.name for decision in first.destroy}
    if not destroyed:
        return
    then = now + timedelta(seconds=later)
    newest_destroyed = max(decision.time for decision in first.destroy)
    newcomers = [
        RetentionSnapshot(name=f"tank/tm@new{index:02d}", time=max(then - timedelta(seconds=age), newest_destroyed))
        for index, age in enumerate(new_ages)
    ]
    # Ties with the destroyed one are ordered by name; "new" sorts after "s", so newcomers stay newer.
    second = plan([*snapshots, *newcomers], then, policy)
    assert not (_kept_names(second) & destroyed)
