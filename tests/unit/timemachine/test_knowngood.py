"""Known-good choice and the hold plan: newest verified snapshot, hold before release, only forward in time."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.timemachine.fixtures import NOW
from tests.unit.timemachine.strategies import snapshot_records
from zfstm.snapshots.tags import KNOWN_GOOD_HOLD
from zfstm.timemachine.detector import ActivityState
from zfstm.timemachine.knowngood import (
    HoldAction,
    HoldPlan,
    HoldStep,
    choose_known_good,
    plan_known_good_hold,
)
from zfstm.timemachine.machineid import Verdict
from zfstm.timemachine.properties import SnapshotRecord

H = timedelta(hours=1)


def record(name: str, hours_ago: float, *, good: bool = True) -> SnapshotRecord:
    return SnapshotRecord(
        name=name,
        created=NOW - hours_ago * H,
        managed=True,
        activity=ActivityState.COMPLETED_AND_QUIET,
        tm_completed=NOW - hours_ago * H - H / 6,
        verdict=Verdict.OK if good else Verdict.FAILED,
    )


def apply(plan: HoldPlan, held: set[str]) -> list[set[str]]:
    """The held set after each step, as ZFS would see it."""
    states = []
    for step in plan.steps:
        held = held | {step.snapshot} if step.action is HoldAction.HOLD else held - {step.snapshot}
        states.append(held)
    return states


@st.composite
def records_and_held(draw: st.DrawFn) -> tuple[list[SnapshotRecord], set[str]]:
    records = draw(snapshot_records())
    names = [r.name for r in records]
    held = set(draw(st.lists(st.sampled_from(names), unique=True))) if names else set()
    return records, held | set(draw(st.lists(st.sampled_from(["foreign-1", "foreign-2"]), unique=True)))


def test_moves_forward_hold_first() -> None:
    """A newer verified snapshot gets the hold first, then the old one is released; failed ones are passed over."""
    records = [record("a", 5), record("b", 3), record("c", 1, good=False)]
    plan = plan_known_good_hold(records, held={"a"})
    assert plan.target == "b"
    assert plan.steps == (HoldStep(HoldAction.HOLD, "b"), HoldStep(HoldAction.RELEASE, "a"))
    assert plan.steps[0].tag == KNOWN_GOOD_HOLD


def test_nothing_verified_keeps_existing_hold() -> None:
    """Without any verified snapshot there is no target, and nothing is released."""
    assert plan_known_good_hold([record("c", 1, good=False)], held=set()) == HoldPlan(
        None, (), "no snapshot was taken after a completed, verified backup"
    )
    plan = plan_known_good_hold([record("a", 5, good=False)], held={"a"})
    assert plan.target == "a"
    assert plan.steps == ()


def test_interrupted_move_is_finished() -> None:
    """Two holds left by a crash between hold and release are reduced to the newer one."""
    plan = plan_known_good_hold([record("a", 5), record("b", 3)], held={"a", "b"})
    assert plan.steps == (HoldStep(HoldAction.RELEASE, "a"),)


@given(records_and_held())
def test_hold_before_release(case: tuple[list[SnapshotRecord], set[str]]) -> None:
    """At most one hold, always before every release; the target is never released."""
    records, held = case
    plan = plan_known_good_hold(records, held)
    actions = [step.action for step in plan.steps]
    assert actions.count(HoldAction.HOLD) <= 1
    assert actions == sorted(actions, key=lambda action: action is HoldAction.RELEASE)
    assert all(step.snapshot != plan.target for step in plan.steps if step.action is HoldAction.RELEASE)
    assert all(step.tag == KNOWN_GOOD_HOLD for step in plan.steps)


@given(records_and_held())
def test_never_without_a_hold(case: tuple[list[SnapshotRecord], set[str]]) -> None:
    """At every step of the plan some known-good snapshot stays held, if one was held before or is the target."""
    records, held = case
    plan = plan_known_good_hold(records, held)
    names = {r.name for r in records}
    for state in apply(plan, held):
        assert state & names


@given(records_and_held())
def test_converges_to_exactly_one(case: tuple[list[SnapshotRecord], set[str]]) -> None:
    """After the plan, exactly the target holds the tag among known snapshots, and planning again does nothing."""
    records, held = case
    plan = plan_known_good_hold(records, held)
    after = (apply(plan, held) or [held])[-1]
    names = {r.name for r in records}
    if plan.target is not None:
        assert after & names == {plan.target}
    assert after - names == held - names  # names without a record are left alone
    assert plan_known_good_hold(records, after).steps == ()


@given(records_and_held())
def test_only_forward_in_time(case: tuple[list[SnapshotRecord], set[str]]) -> None:
    """The target is at least as new as every held snapshot it replaces, and is eligible or was already held."""
    records, held = case
    plan = plan_known_good_hold(records, held)
    by_name = {r.name: r for r in records}
    if plan.target is None:
        assert not any(r.after_verified_completion for r in records)
        return
    target = by_name[plan.target]
    assert target.after_verified_completion or target.name in held
    for step in plan.steps:
        if step.action is HoldAction.RELEASE:
            assert (by_name[step.snapshot].created, step.snapshot) < (target.created, target.name)
    best = choose_known_good(records)
    if best is not None:
        assert (target.created, target.name) >= (best.created, best.name)


@given(snapshot_records(min_size=1))
def test_moves_forward_over_a_history(records: list[SnapshotRecord]) -> None:
    """Taking snapshots one by one in time order and applying each plan moves the hold only forward."""
    timeline = sorted(records, key=lambda r: (r.created, r.name))
    held: set[str] = set()
    previous: SnapshotRecord | None = None
    for count in range(1, len(timeline) + 1):
        seen = timeline[:count]
        plan = plan_known_good_hold(seen, held)
        held = (apply(plan, held) or [held])[-1]
        if plan.target is not None:
            current = next(r for r in seen if r.name == plan.target)
            if previous is not None:
                assert (current.created, current.name) >= (previous.created, previous.name)
            previous = current
