"""The journal state machine (pure): what comes next from any prefix of the records, and when reversal is allowed."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.rollback.world import facts_of, make_world
from zfstm.rollback.machine import ActionKind, can_reverse, counter_before, next_action, progress
from zfstm.rollback.model import NO_REVERSE, RollbackRequest, StepKind
from zfstm.rollback.planner import plan_rollback

PLAN = plan_rollback(facts_of(make_world()), RollbackRequest("tm", last_good=True))
IDS = [s.id for s in PLAN.steps]


def forward_records(upto: int, *, in_doubt: bool = False) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [{"event": "plan"}]
    for step_id in IDS[:upto]:
        records += [{"event": "before", "step": step_id}, {"event": "after", "step": step_id, "result": {}}]
    if in_doubt and upto < len(IDS):
        records.append({"event": "before", "step": IDS[upto]})
    return records


@given(st.integers(0, len(IDS)), st.booleans())
def test_forward_resumes_at_the_first_step_without_an_after_record(done: int, in_doubt: bool) -> None:
    """After any crash point the next action re-runs the first unfinished step (in doubt or not); at the end:
    FINISHED."""
    action = next_action(PLAN, forward_records(done, in_doubt=in_doubt))
    if done == len(IDS):
        assert action.kind is ActionKind.FINISHED
    else:
        assert action.kind is ActionKind.RUN and action.step is not None and action.step.id == IDS[done]


@given(st.integers(1, IDS.index("start-server")), st.booleans())
def test_reversal_undoes_completed_steps_newest_first_and_ends_by_starting_the_server(
    done: int, in_doubt: bool
) -> None:
    """Reversing walks back over every completed (or in-doubt) reversible step, newest first; stop-server is undone
    last, which starts the server; then REVERSED."""
    records = [*forward_records(done, in_doubt=in_doubt), {"event": "reverse"}]
    touched = IDS[: done + (1 if in_doubt else 0)]
    expected = [s for s in reversed(touched) if PLAN.step(s).kind not in NO_REVERSE]
    seen = []
    while True:
        action = next_action(PLAN, records)
        if action.kind is not ActionKind.UNDO:
            break
        assert action.step is not None
        seen.append(action.step.id)
        records += [{"event": "undo", "step": action.step.id}, {"event": "undone", "step": action.step.id}]
    assert action.kind is ActionKind.REVERSED
    assert seen == expected
    assert not seen or seen[-1] == "stop-server"


def test_reversal_is_refused_once_the_server_was_started_again() -> None:
    """Once start-server ran (or an in-place rollback), the machine no longer offers reversal."""
    at = IDS.index("start-server")
    assert can_reverse(PLAN, progress(forward_records(at)))
    assert not can_reverse(PLAN, progress(forward_records(at + 1)))
    assert not can_reverse(PLAN, progress(forward_records(at, in_doubt=True)))


def test_closed_journal_and_counter_are_read_back() -> None:
    """A finished record closes the journal; the counter read before the rollback comes from its step's result."""
    records = forward_records(2)
    records[-1]["result"] = {"counter": 350}
    assert counter_before(progress(records)) == 350
    assert next_action(PLAN, [*records, {"event": "finished", "outcome": "done"}]).kind is ActionKind.CLOSED


def test_failed_step_is_retried_forward() -> None:
    """A step recorded as failed (journal left open) is the next one to run on --resume."""
    records = [*forward_records(3), {"event": "before", "step": IDS[3]}, {"event": "failed", "step": IDS[3]}]
    state = progress(records)
    assert state.failed == IDS[3] and state.in_doubt is None
    action = next_action(PLAN, records)
    assert action.step is not None and action.step.id == IDS[3]
    assert PLAN.step(IDS[0]).kind is StepKind.STOP_SERVER
