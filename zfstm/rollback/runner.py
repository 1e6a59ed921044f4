"""Drive a rollback plan to its end, journaling every step before and after it runs (shell).

The loop asks :func:`zfstm.rollback.machine.next_action` what to do, does it, and records it; a crash anywhere
leaves a journal from which ``--resume`` continues. On a failure the runner reverses the completed steps when that
is still possible (nothing irreversible ran, the server was not restarted) and otherwise leaves the journal open
and tries to start the file server, so the share is served either way.

Fault injection for tests: ``ZFSTM_ROLLBACK_FAIL_AFTER=<step id>`` makes the process die (``os._exit``) right after
that step's "after" record, ``<step id>:before`` right after its "before" record.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import attrs

from zfstm.errors import RollbackFailed, SafetyRefusal, ZfstmError
from zfstm.rollback.execute import Context, run_step, undo_step
from zfstm.rollback.journal import Journal
from zfstm.rollback.machine import ActionKind, can_reverse, next_action, progress

log = logging.getLogger("zfstm.rollback")

FAULT_ENV = "ZFSTM_ROLLBACK_FAIL_AFTER"
FAULT_EXIT = 86

#: Called after every journal record with (step id, "before" | "after"); the default honours FAULT_ENV.
FaultHook = Callable[[str, str], None]


def env_fault_hook(step_id: str, phase: str) -> None:
    spec = os.environ.get(FAULT_ENV, "")
    if spec and (spec == f"{step_id}:{phase}" or (phase == "after" and spec == step_id)):
        log.error("fault injection: dying %s step %s", phase, step_id)
        os._exit(FAULT_EXIT)


@attrs.frozen
class Outcome:
    status: str  # "done" or "reversed"
    journal: str
    results: dict[str, Any]


def _say(message: str, echo: Callable[[str], None] | None) -> None:
    log.info(message)
    if echo is not None:
        echo(message)


def _record_done(
    journal: Journal, step_id: str, result: dict[str, Any], seconds: float, echo: Callable[[str], None] | None
) -> None:
    """The step's "after" record, with how long it took (the journal then tells where a rollback's time went)."""
    journal.append({"event": "after", "step": step_id, "result": result, "seconds": round(seconds, 3)})
    _say(f"[{step_id}] done in {seconds:.1f} s", echo)


def run(
    journal: Journal,
    ctx: Context,
    *,
    fault: FaultHook = env_fault_hook,
    echo: Callable[[str], None] | None = None,
    abort: bool = False,
) -> Outcome:
    """Execute (or resume, or with ``abort`` reverse) the journal's plan until it is closed."""
    plan = journal.plan
    if abort and progress(journal.records).direction.value == "forward":
        state = progress(journal.records)
        if not can_reverse(plan, state):
            raise SafetyRefusal(
                f"the rollback of {plan.dataset} got past its point of no return (an irreversible step or a restart "
                f"of the server ran); finish it with `zfstm rollback --resume {plan.target}`"
            )
        journal.append({"event": "reverse", "reason": "--abort"})
    error: BaseException | None = None
    while True:
        action = next_action(plan, journal.records)
        step = action.step
        if action.kind is ActionKind.RUN and step is not None:
            _say(f"[{step.id}] {step.summary}", echo)
            journal.append({"event": "before", "step": step.id})
            fault(step.id, "before")
            started = time.monotonic()
            try:
                result = run_step(step, ctx, progress(journal.records).results)
            except (ZfstmError, OSError) as exc:
                journal.append({"event": "failed", "step": step.id, "error": str(exc)})
                error = exc
                if can_reverse(plan, progress(journal.records)):
                    _say(f"[{step.id}] failed: {exc}; reversing what was done", echo)
                    journal.append({"event": "reverse", "reason": str(exc)})
                    continue
                _leave_serving(ctx, echo)
                raise RollbackFailed(
                    f"step {step.id} failed: {exc}. The journal {journal.path} stays open; fix the cause and run "
                    f"`zfstm rollback --resume {plan.target}`",
                    reversed_=False,
                    cause=exc,
                ) from exc
            _record_done(journal, step.id, result, time.monotonic() - started, echo)
            fault(step.id, "after")
        elif action.kind is ActionKind.UNDO and step is not None:
            _say(f"[{step.id}] undo: {step.summary}", echo)
            journal.append({"event": "undo", "step": step.id})
            fault(step.id, "undo")
            try:
                undo_step(step, ctx)
            except (ZfstmError, OSError) as exc:
                journal.append({"event": "undo-failed", "step": step.id, "error": str(exc)})
                _leave_serving(ctx, echo)
                raise RollbackFailed(
                    f"reversing step {step.id} failed: {exc}. The journal {journal.path} stays open; fix the cause "
                    f"and run `zfstm rollback --resume {plan.target}`",
                    reversed_=False,
                    cause=exc,
                ) from exc
            journal.append({"event": "undone", "step": step.id})
        elif action.kind in (ActionKind.FINISHED, ActionKind.REVERSED):
            status = "done" if action.kind is ActionKind.FINISHED else "reversed"
            journal.append({"event": "finished", "outcome": status})
            results = dict(progress(journal.records).results)
            path = journal.close()
            if status == "reversed":
                raise RollbackFailed(
                    f"the rollback of {plan.dataset} was reversed: nothing changed "
                    + (f"({error})" if error else "(--abort)"),
                    reversed_=True,
                    cause=error or SafetyRefusal("aborted"),
                )
            return Outcome(status, str(path), results)
        else:
            raise SafetyRefusal(f"the journal {journal.path} is already closed")


def _leave_serving(ctx: Context, echo: Callable[[str], None] | None) -> None:
    """Failure path: try to have the file server running whatever state the datasets are in."""
    if ctx.server is None:
        return
    with contextlib.suppress(ZfstmError, OSError):
        if not ctx.server.is_running():
            ctx.server.start()
            _say(f"{ctx.server.name} started again", echo)
