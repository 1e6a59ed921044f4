"""A tick's plan and outcome as text for people and JSON for machines. Pure.

The JSON shape (stable, documented in docs/configuration.md)::

    {"now": ISO, "dry_run": bool, "exit_code": int,
     "targets": [{"target", "dataset", "activity", "activity_reason", "action", "trigger", "reason",
                  "stands_for", "snapshot", "known_good", "hold_steps": [{"action", "snapshot", "tag"}],
                  "keep": [names], "destroy": [names], "refusal"}],
     "batches": [{"pool", "names"}], "cnid": [{"dataset", "hold_steps", "destroy"}],
     "snapshots_taken": [...], "busy": [...], "failures": [{"target", "step", "message", "exit_code"}],
     "destroy_refused": [{"name", "outcome", "message"}]}
"""

from __future__ import annotations

from typing import Any

from zfstm.lifecycle.decide import TickPlan
from zfstm.lifecycle.outcome import TickReport
from zfstm.timemachine.knowngood import HoldStep
from zfstm.timemachine.timefmt import format_utc


def _steps(steps: tuple[HoldStep, ...]) -> list[dict[str, str]]:
    return [{"action": step.action.value, "snapshot": step.snapshot, "tag": step.tag} for step in steps]


def _snapshot_of(plan: TickPlan, dataset: str) -> str | None:
    for batch in plan.batches:
        for name in batch.names:
            if name.dataset.full == dataset:
                return name.full
    return None


def report_json(report: TickReport) -> dict[str, Any]:
    plan = report.plan
    upkeep = {item.target: item for item in plan.upkeep}
    refusals = {failure.target: failure.message for failure in report.refusals}
    targets = []
    for decision in plan.decisions:
        item = upkeep.get(decision.target)
        targets.append(
            {
                "target": decision.target,
                "dataset": decision.dataset,
                "activity": decision.activity.state.value,
                "activity_reason": decision.activity.reason,
                "action": decision.due.action.value,
                "trigger": decision.due.trigger.value if decision.due.trigger else None,
                "reason": decision.due.reason,
                "stands_for": decision.due.stands_for,
                "snapshot": _snapshot_of(plan, decision.dataset),
                "known_good": item.known_good if item else None,
                "known_good_reason": item.hold.reason if item else None,
                "hold_steps": _steps(item.hold.steps) if item else [],
                "keep": [d.name for d in item.retention.keep] if item and report.prune else [],
                "destroy": list(item.destroy) if item and report.prune else [],
                "refusal": refusals.get(decision.target),
            }
        )
    return {
        "now": format_utc(plan.now),
        "dry_run": report.dry_run,
        "prune": report.prune,
        "exit_code": report.exit_code,
        "targets": targets,
        "batches": [{"pool": batch.pool, "names": [name.full for name in batch.names]} for batch in plan.batches],
        "cnid": [
            {"dataset": cnid.dataset, "hold_steps": _steps(cnid.steps), "destroy": list(cnid.destroy)}
            for cnid in plan.cnid
        ],
        "snapshots_taken": list(report.snapshots),
        "busy": list(report.busy),
        "failures": [
            {"target": f.target, "step": f.step, "message": f.message, "exit_code": f.exit_code}
            for f in (*report.failures, *report.refusals)
        ],
        "destroy_refused": [
            {"name": r.name.full, "outcome": r.outcome.value, "message": r.message}
            for destroyed in report.destroyed
            for r in destroyed.refused
        ],
    }


def report_text(report: TickReport) -> str:
    """A few lines per target: the judgement, the snapshot decision, known-good, retention."""
    plan = report.plan
    upkeep = {item.target: item for item in plan.upkeep}
    verb = "would take" if report.dry_run else "took"
    not_taken = {f.target for f in report.failures if f.step == "snapshot"}
    lines = [f"zfstm tick at {format_utc(plan.now)}{' (dry run: nothing changed)' if report.dry_run else ''}"]
    for decision in plan.decisions:
        lines.append(f"{decision.target} ({decision.dataset}): {decision.activity.state.value}")
        lines.append(f"  detector: {decision.activity.reason}")
        snapshot = _snapshot_of(plan, decision.dataset)
        if decision.take and snapshot:
            trigger = decision.due.trigger.value if decision.due.trigger else "?"
            taken = "failed to take" if decision.target in not_taken else verb
            lines.append(f"  snapshot: {taken} {snapshot} ({trigger}: {decision.due.reason})")
        else:
            lines.append(f"  snapshot: {decision.due.action.value}: {decision.due.reason}")
        item = upkeep.get(decision.target)
        if item is None:
            continue
        lines.append(f"  known-good: {item.hold.reason}")
        lines.extend(f"    {step.action.value} {step.tag} {step.snapshot}" for step in item.hold.steps)
        if not report.prune:
            continue
        destroy = item.destroy
        lines.append(
            f"  retention: keep {len(item.retention.keep)}, destroy {len(destroy)}"
            + (": " + ", ".join(name.rpartition("@")[2] for name in destroy) if destroy else "")
        )
    for cnid in plan.cnid:
        if cnid.steps or (cnid.destroy and report.prune):
            lines.append(f"{cnid.dataset} (CNID database): {cnid.reason}")
            lines.extend(f"    {step.action.value} {step.tag} {step.snapshot}" for step in cnid.steps)
            if cnid.destroy and report.prune:
                lines.append(f"  destroy {len(cnid.destroy)}: " + ", ".join(n.rpartition("@")[2] for n in cnid.destroy))
    lines.extend(f"busy: {name} (another zfstm run holds its lock; skipped)" for name in report.busy)
    lines.extend(f"failed: {f.target}: {f.step}: {f.message}" for f in report.failures)
    lines.extend(f"refused: {f.target}: {f.message}" for f in report.refusals)
    lines.extend(f"ZFS refused to destroy {name}" for name in report.refused_names)
    return "\n".join(lines) + "\n"
