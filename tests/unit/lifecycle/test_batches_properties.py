"""Invariants of the atomic snapshot batches over random target sets (pools, shared CNID datasets, due or not)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zfstm.config.model import Target
from zfstm.lifecycle.decide import TargetDecision, plan_batches
from zfstm.timemachine.detector import Activity, ActivityState
from zfstm.timemachine.due import DueAction, DueDecision, Trigger
from zfstm.zfs import DatasetName

SHORT = "zfstm-20261128T120000Z"


@st.composite
def target_sets(draw: st.DrawFn) -> tuple[list[Target], list[TargetDecision]]:
    count = draw(st.integers(1, 6))
    targets, decisions = [], []
    for index in range(count):
        pool = draw(st.sampled_from(["tank", "backup", "z"]))
        cnid = draw(st.sampled_from([None, f"{pool}/cnid", f"{pool}/cnid2"]))
        target = Target(
            name=f"t{index}",
            dataset=DatasetName(f"{pool}/share{index}"),
            cnid_dataset=DatasetName(cnid) if cnid else None,
        )
        due = draw(st.booleans())
        verdict = draw(st.sampled_from(["ok", "failed", "unknown"]))
        decision = TargetDecision(
            target.name,
            target.dataset.full,
            Activity(ActivityState.COMPLETED_AND_QUIET, "quiet"),
            DueDecision(DueAction.TAKE if due else DueAction.WAIT, "why", Trigger.COMPLETION if due else None),
            {"zfstm:managed": "yes", "zfstm:tm-verification": verdict},
        )
        targets.append(target)
        decisions.append(decision)
    return targets, decisions


@given(target_sets())
def test_batches_are_atomic_per_pool_and_complete(sets: tuple[list[Target], list[TargetDecision]]) -> None:
    """One batch per pool; no dataset twice; exactly the due shares plus their CNID datasets; props complete."""
    targets, decisions = sets
    batches = plan_batches(targets, decisions, SHORT)
    pools = [batch.pool for batch in batches]
    assert len(pools) == len(set(pools))
    expected: set[str] = set()
    for target, decision in zip(targets, decisions, strict=True):
        if decision.take:
            expected.add(target.dataset.full)
            if target.cnid_dataset is not None:
                expected.add(target.cnid_dataset.full)
    named = [name.dataset.full for batch in batches for name in batch.names]
    assert len(named) == len(set(named))
    assert set(named) == expected
    by_name = {t.dataset.full: d for t, d in zip(targets, decisions, strict=True)}
    for batch in batches:
        assert {name.pool for name in batch.names} == {batch.pool}
        assert all(name.short == SHORT for name in batch.names)
        extra = dict(batch.extra)
        for name in batch.names:
            share = by_name.get(name.dataset.full)
            if share is not None:  # a share: common + its extras are exactly its properties
                assert {**batch.common, **extra.get(name, {})} == dict(share.properties)
