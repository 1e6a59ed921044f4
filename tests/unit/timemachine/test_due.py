"""When a snapshot is due: the documented rules as examples, and the invariants as properties."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.timemachine.fixtures import NOW
from tests.unit.timemachine.strategies import activities, moments
from zfstm.timemachine.detector import Activity, ActivityState
from zfstm.timemachine.due import DueAction, DueDecision, DuePolicy, LastSnapshot, Trigger, decide_snapshot

H = timedelta(hours=1)
QUIET = Activity(ActivityState.COMPLETED_AND_QUIET, "completed, quiet", NOW - H, NOW - H)
BUSY = Activity(ActivityState.IN_PROGRESS, "bands being written", NOW - 3 * H, NOW)
IDLE = Activity(ActivityState.IDLE, "interrupted", NOW - 3 * H, NOW - 2 * H)
UNKNOWN = Activity(ActivityState.UNKNOWN, "nothing to judge by")
#: Completed after OLD's recorded completion but before OLD was taken, with no write since (a skew of clocks).
EARLIER = Activity(ActivityState.COMPLETED_AND_QUIET, "completed, quiet", NOW - 2.5 * H, NOW - 2.5 * H)
STALE = Activity(ActivityState.IDLE, "interrupted long ago", NOW - 30 * H, NOW - 26 * H)
OLD = LastSnapshot("zfstm-old", NOW - 2 * H, tm_completed=NOW - 3 * H)

last_snapshots = st.builds(LastSnapshot, name=st.just("zfstm-last"), created=moments, tm_completed=st.none() | moments)
written = st.none() | st.integers(min_value=0, max_value=2**40)
policies = st.builds(
    DuePolicy,
    max_interval=st.none() | st.integers(60, 14 * 86400).map(lambda s: timedelta(seconds=s)),
    skip_empty=st.booleans(),
)


def decide(activity: Activity, last: LastSnapshot | None, written: int | None = 4096, **policy: object) -> DueDecision:
    return decide_snapshot(activity, last=last, written_since_last=written, now=NOW, policy=DuePolicy(**policy))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("activity", "last", "written_bytes", "action", "trigger"),
    [
        (QUIET, None, None, DueAction.TAKE, Trigger.FIRST),
        (IDLE, None, None, DueAction.TAKE, Trigger.FIRST),
        (UNKNOWN, None, None, DueAction.TAKE, Trigger.FIRST),
        (BUSY, None, None, DueAction.WAIT, None),
        (QUIET, OLD, 4096, DueAction.TAKE, Trigger.COMPLETION),
        (QUIET, OLD, 0, DueAction.TAKE, Trigger.COMPLETION),  # completed after OLD: `written` lags, not empty
        (EARLIER, OLD, 0, DueAction.SKIP_EMPTY, Trigger.COMPLETION),
        (QUIET, LastSnapshot("zfstm-new", NOW - H / 2, NOW - H), 4096, DueAction.WAIT, None),
        (BUSY, OLD, 4096, DueAction.WAIT, None),
        (IDLE, OLD, 4096, DueAction.WAIT, None),
        (BUSY, LastSnapshot("zfstm-day", NOW - 25 * H), 4096, DueAction.TAKE, Trigger.MAX_INTERVAL),
        (IDLE, LastSnapshot("zfstm-day", NOW - 25 * H), 0, DueAction.TAKE, Trigger.MAX_INTERVAL),
        (IDLE, LastSnapshot("zfstm-day", NOW - 25 * H), 4096, DueAction.TAKE, Trigger.MAX_INTERVAL),
        (STALE, LastSnapshot("zfstm-day", NOW - 25 * H), 0, DueAction.SKIP_EMPTY, Trigger.MAX_INTERVAL),
        (QUIET, LastSnapshot("zfstm-future", NOW + H), 4096, DueAction.WAIT, None),
    ],
)
def test_documented_rules(
    activity: Activity, last: LastSnapshot | None, written_bytes: int | None, action: DueAction, trigger: Trigger | None
) -> None:
    """Each rule of the module docstring gives its action and trigger, with a reason."""
    decision = decide(activity, last, written_bytes)
    assert (decision.action, decision.trigger) == (action, trigger)
    assert decision.reason


def test_completion_is_compared_with_the_recorded_completion() -> None:
    """A completion newer than the snapshot's creation but equal to what it recorded is not a new backup."""
    last = LastSnapshot("zfstm-a", NOW - 3 * H, tm_completed=QUIET.completed_at)
    assert decide(QUIET, last).action is DueAction.WAIT
    assert decide(QUIET, LastSnapshot("zfstm-a", NOW - 3 * H)).trigger is Trigger.COMPLETION


def test_skip_names_the_standing_snapshot() -> None:
    """A skipped empty snapshot names the previous one, which stands for this slot in retention."""
    decision = decide(EARLIER, OLD, 0)
    assert decision.stands_for == OLD.name
    assert OLD.name in decision.reason
    assert decide(EARLIER, OLD, 0, skip_empty=False).action is DueAction.TAKE


@given(activities, last_snapshots, policies)
def test_never_skipped_as_empty_while_the_share_shows_newer_writes(
    activity: Activity, last: LastSnapshot, policy: DuePolicy
) -> None:
    """`written` counts synced data only: a 0 never skips a snapshot when bands or a completion are newer."""
    decision = decide_snapshot(activity, last=last, written_since_last=0, now=NOW, policy=policy)
    if decision.action is DueAction.SKIP_EMPTY:
        assert all(t is None or t <= last.created for t in (activity.last_write_at, activity.completed_at))


@given(activities, st.none() | last_snapshots, written, policies)
def test_never_due_in_progress_unless_max_interval(
    activity: Activity, last: LastSnapshot | None, written_bytes: int | None, policy: DuePolicy
) -> None:
    """While a backup is in progress only the maximum interval can make a snapshot due."""
    decision = decide_snapshot(activity, last=last, written_since_last=written_bytes, now=NOW, policy=policy)
    if activity.state is ActivityState.IN_PROGRESS and decision.due:
        assert decision.trigger is Trigger.MAX_INTERVAL
        assert last is not None
        assert policy.max_interval is not None
        assert NOW - last.created >= policy.max_interval


@given(activities, last_snapshots, written, policies)
def test_completion_trigger_needs_a_new_quiet_completion(
    activity: Activity, last: LastSnapshot, written_bytes: int | None, policy: DuePolicy
) -> None:
    """A completion-triggered snapshot needs a quiet share and a completion newer than the last snapshot's."""
    decision = decide_snapshot(activity, last=last, written_since_last=written_bytes, now=NOW, policy=policy)
    if decision.trigger is Trigger.COMPLETION:
        assert activity.state is ActivityState.COMPLETED_AND_QUIET
        assert activity.completed_at is not None
        assert activity.completed_at > (last.tm_completed or last.created)


@given(activities, last_snapshots, policies)
def test_empty_is_never_taken_when_skipping(activity: Activity, last: LastSnapshot, policy: DuePolicy) -> None:
    """With skip_empty, nothing written since the last snapshot (by ZFS's count and by the share's own times) never
    takes one; a skip names the last one."""
    decision = decide_snapshot(activity, last=last, written_since_last=0, now=NOW, policy=policy)
    share_quiet_since = all(t is None or t <= last.created for t in (activity.last_write_at, activity.completed_at))
    if policy.skip_empty and share_quiet_since:
        assert not decision.due
    if decision.action is DueAction.SKIP_EMPTY:
        assert policy.skip_empty
        assert decision.stands_for == last.name


@given(activities, last_snapshots, st.integers(min_value=1, max_value=2**40) | st.none(), policies)
def test_max_interval_forces(
    activity: Activity, last: LastSnapshot, written_bytes: int | None, policy: DuePolicy
) -> None:
    """Once the maximum interval passed since a past snapshot, a non-empty snapshot is due whatever the activity."""
    decision = decide_snapshot(activity, last=last, written_since_last=written_bytes, now=NOW, policy=policy)
    if policy.max_interval is not None and last.created <= NOW and NOW - last.created >= policy.max_interval:
        assert decision.due


@given(activities, last_snapshots, written, policies, st.integers(0, 30 * 86400))
def test_max_interval_stays_due_in_time(
    activity: Activity, last: LastSnapshot, written_bytes: int | None, policy: DuePolicy, wait: int
) -> None:
    """A snapshot due by the maximum interval at t is still due (or still skipped as empty) at any later t'."""
    first = decide_snapshot(activity, last=last, written_since_last=written_bytes, now=NOW, policy=policy)
    if first.trigger is Trigger.MAX_INTERVAL:
        later: datetime = NOW + timedelta(seconds=wait)
        second = decide_snapshot(activity, last=last, written_since_last=written_bytes, now=later, policy=policy)
        assert (second.action, second.trigger) == (first.action, first.trigger)


def test_policy_refuses_non_positive_interval() -> None:
    """A zero or negative maximum interval is a configuration error."""
    with pytest.raises(ValueError, match="max_interval"):
        DuePolicy(max_interval=timedelta(0))
