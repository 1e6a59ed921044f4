"""Retention plans for people (a table) and for machines (JSON, the stable interface of `zfstm plan --json`).

Pure: plans in, text or JSON-ready dicts out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zfstm.clock import format_instant
from zfstm.retention.plan import Plan
from zfstm.retention.policy_text import describe_policy
from zfstm.retention.snapshots import RetentionSnapshot

JSON_FORMAT_VERSION = 1


def plan_json(plans: Sequence[Plan], *, force: bool = False) -> dict[str, Any]:
    """``{"keep": [...], "destroy": [...], "datasets": [...], ...}``; each entry has name, time, reasons."""
    keep: list[dict[str, Any]] = []
    destroy: list[dict[str, Any]] = []
    datasets = []
    for plan in plans:
        for snap, kept, reasons in zip(plan.snapshots, plan.kept, plan.reasons, strict=True):
            (keep if kept else destroy).append(_entry(plan.dataset, snap, reasons))
        refusal = plan.refusal(force=force)
        datasets.append(
            {
                "dataset": plan.dataset,
                "snapshots": len(plan.snapshots),
                "keep": len(plan.snapshots) - len(plan.destroy_names),
                "destroy": len(plan.destroy_names),
                "usage": plan.usage,
                "refusal": None if refusal is None else {"kind": type(refusal).__name__, "message": str(refusal)},
            }
        )
    first = plans[0] if plans else None
    return {
        "format": JSON_FORMAT_VERSION,
        "now": format_instant(first.now) if first else None,
        "policy": describe_policy(first.policy) if first else None,
        "keep": keep,
        "destroy": destroy,
        "datasets": datasets,
    }


def _entry(dataset: str, snap: RetentionSnapshot, reasons: tuple[str, ...]) -> dict[str, Any]:
    return {
        "name": snap.name,
        "dataset": dataset,
        "time": format_instant(snap.time),
        "managed": snap.managed,
        "holds": sorted(snap.holds),
        "reasons": list(reasons),
    }


def plan_table(plans: Sequence[Plan], *, force: bool = False, show_kept: bool = True) -> str:
    """One line per snapshot, oldest first: ACTION, TIME (UTC), NAME, REASONS; then a summary per dataset."""
    lines: list[str] = []
    for plan in plans:
        rows = [
            ("keep" if kept else "DESTROY", format_instant(snap.time), snap.name, "; ".join(reasons))
            for snap, kept, reasons in zip(plan.snapshots, plan.kept, plan.reasons, strict=True)
            if show_kept or not kept
        ]
        width = max([len(row[2]) for row in rows] + [4])
        lines.append(f"{'ACTION':<7}  {'TIME (UTC)':<20}  {'NAME':<{width}}  REASONS")
        lines.extend(f"{action:<7}  {time:<20}  {name:<{width}}  {why}" for action, time, name, why in rows)
        lines.append(summary_line(plan))
        refusal = plan.refusal(force=force)
        if refusal is not None:
            lines.append(f"prune would refuse: {refusal}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def summary_line(plan: Plan) -> str:
    where = plan.dataset or "snapshots"
    destroy = len(plan.destroy_names)
    return (
        f"{where}: {len(plan.snapshots)} snapshots, keep {len(plan.snapshots) - destroy}, destroy {destroy} "
        f"(now {format_instant(plan.now)}; policy {describe_policy(plan.policy)})"
    )
