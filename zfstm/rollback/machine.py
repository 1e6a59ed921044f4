"""The rollback as a pure state machine over its journal: given the plan and the records so far, what comes next.

Forward, a step whose "before" record has no "after" is *in doubt* (the process died while it ran): it is run
again, and every action is written to be idempotent (it looks at the world first), so a re-run either completes it
or finds it done. Reversing walks the completed steps backwards and undoes each reversible one; stopping the file
server is undone by starting it, so a reversal always ends with the server running.

Reversal is only possible while no irreversible step (an in-place rollback, a CNID reset) has run and the server
has not been started again; after that point a failure leaves the journal open for ``--resume`` to finish.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from zfstm.rollback.model import IRREVERSIBLE, NO_REVERSE, RollbackPlan, Step, StepKind

Record = Mapping[str, Any]

#: Once the server was started again (or the result is being verified), clients may have written to the rolled-back
#: share: reversing would throw that away, so from here a failure leaves the journal open for --resume instead.
POINT_OF_NO_RETURN = frozenset({StepKind.START_SERVER, StepKind.RESCAN, StepKind.VERIFY})


class Direction(enum.StrEnum):
    FORWARD = "forward"
    REVERSE = "reverse"


class ActionKind(enum.StrEnum):
    RUN = "run"  # run a step forward
    UNDO = "undo"  # reverse a completed (or in-doubt) step
    FINISHED = "finished"  # every step done: write the final record
    REVERSED = "reversed"  # every reversible step undone: write the final record
    CLOSED = "closed"  # the journal already has its final record


@attrs.frozen
class Action:
    kind: ActionKind
    step: Step | None = None


@attrs.frozen
class Progress:
    """What the journal says so far."""

    done: tuple[str, ...]  # step ids with an "after" record, in order
    in_doubt: str | None  # a step with "before" and neither "after" nor "failed"
    failed: str | None
    direction: Direction
    undone: tuple[str, ...]
    closed: str | None  # the final outcome, if written
    results: Mapping[str, Mapping[str, Any]]


def progress(records: Iterable[Record]) -> Progress:
    """Fold the journal records into a Progress."""
    done: list[str] = []
    undone: list[str] = []
    started: set[str] = set()
    failed: str | None = None
    direction = Direction.FORWARD
    closed: str | None = None
    results: dict[str, Mapping[str, Any]] = {}
    for record in records:
        event, step = record.get("event"), record.get("step")
        if event == "before" and step:
            started.add(step)
        elif event == "after" and step:
            if step not in done:
                done.append(step)
            results[step] = record.get("result") or {}
            failed = None if failed == step else failed
        elif event == "failed" and step:
            failed = step
        elif event == "reverse":
            direction = Direction.REVERSE
        elif event == "undone" and step and step not in undone:
            undone.append(step)
        elif event == "finished":
            closed = str(record.get("outcome", "done"))
    in_doubt = next((s for s in started if s not in done and s != failed), None)
    return Progress(tuple(done), in_doubt, failed, direction, tuple(undone), closed, results)


def can_reverse(plan: RollbackPlan, state: Progress) -> bool:
    """True while nothing irreversible ran (or might have) and the server was not started again (nor verified)."""
    touched = set(state.done) | {s for s in (state.in_doubt, state.failed) if s}
    for step in plan.steps:
        if step.id in touched and (step.kind in IRREVERSIBLE or step.kind in POINT_OF_NO_RETURN):
            return False
    return True


def next_action(plan: RollbackPlan, records: Sequence[Record]) -> Action:
    """The next thing to do; call again after recording what happened."""
    state = progress(records)
    if state.closed is not None:
        return Action(ActionKind.CLOSED)
    if state.direction is Direction.FORWARD:
        for step in plan.steps:
            if step.id not in state.done:
                return Action(ActionKind.RUN, step)
        return Action(ActionKind.FINISHED)
    touched = set(state.done) | {s for s in (state.in_doubt, state.failed) if s}
    for step in reversed(plan.steps):
        if step.id in touched and step.id not in state.undone and step.kind not in NO_REVERSE:
            return Action(ActionKind.UNDO, step)
    return Action(ActionKind.REVERSED)


def counter_before(state: Progress) -> int | None:
    """The CNID counter read before the rollback (from the read-counter step's result)."""
    value = state.results.get("read-counter", {}).get("counter")
    return int(value) if value is not None else None
