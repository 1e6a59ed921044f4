"""The plan as text for a person (what will be stopped, what happens to newer snapshots, which CNID strategy and
why, the steps, the expected outcome) and as JSON for machines (pure)."""

from __future__ import annotations

import json

from zfstm.rollback.model import Mode, RollbackPlan


def plan_text(plan: RollbackPlan) -> str:
    mode = {Mode.SWAP: "non-destructive (clone, promote, swap names)", Mode.DISCARD: "destructive (--discard-newer)",
            Mode.UNDO: "undo an earlier rollback (swap back)"}[plan.mode]  # fmt: skip
    lines = [
        f"Rollback plan for target {plan.target} ({plan.dataset})",
        f"  mode:        {mode}",
    ]
    if plan.snapshot:
        lines.append(f"  to:          {plan.snapshot}")
    if plan.cnid_snapshot:
        lines.append(f"  CNID to:     {plan.cnid_snapshot}")
    lines.append(f"  stops:       {plan.server}")
    if plan.mode is Mode.DISCARD:
        lines.append(f"  newer:       {len(plan.newer)} snapshot(s) will be DESTROYED")
    elif plan.mode is Mode.SWAP:
        lines.append(f"  newer:       {len(plan.newer)} snapshot(s) stay reachable in {plan.kept_as}")
    else:
        lines.append(f"  kept:        the rolled-back state stays in {plan.kept_as}")
    for name in plan.newer[:10]:
        held = plan.newer_held.get(name)
        lines.append(f"               {name}" + (f"  (held: {', '.join(held)})" if held else ""))
    if len(plan.newer) > 10:
        lines.append(f"               ... and {len(plan.newer) - 10} more")
    lines.append(f"  CNID:        {plan.strategy.value}: {plan.strategy_reason}")
    lines.append("  steps:")
    for number, step in enumerate(plan.steps, 1):
        lines.append(f"    {number:2d}. {step.id:<16} {step.summary}")
    for warning in plan.warnings:
        lines.append(f"  WARNING: {warning}")
    lines.append(f"  outcome:     {plan.outcome}")
    return "\n".join(lines) + "\n"


def plan_json(plan: RollbackPlan) -> str:
    return json.dumps(plan.to_json(), indent=2) + "\n"
