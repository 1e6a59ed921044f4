"""Retention plans for people (a table) and for machines (JSON, the stable interface of `zfstm plan --json`).

Pure: plans in, text or JSON-ready dicts out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from zfstm.clock import format_instant
from zfstm.retention.plan import Plan
from zfstm.retention.policy_text import describe_policy
from zfstm.retention.snapshots import RetentionSnapshot

JSON_FORMAT_VERSION = 1


def plan_json(plans: Sequence[Plan], *, force: bool = False) -> dict[str, Any]:
    """``{"keep": [...], "destroy": [...], "datasets": [...], ...}``; each entry has name, time, reasons."""
    document = _json_head(plans, force=force)
    document["keep"] = list(_entries(plans, kept=True))
    document["destroy"] = list(_entries(plans, kept=False))
    return {key: document[key] for key in ("format", "now", "policy", "keep", "destroy", "datasets")}


def plan_json_chunks(plans: Sequence[Plan], *, force: bool = False) -> Iterator[str]:
    """``json.dumps(plan_json(plans), indent=2)`` in pieces, one entry at a time: a million-line offline plan is
    written without holding a dict per snapshot (about 0.5 KB each)."""
    head = _json_head(plans, force=force)
    yield "{\n"
    for key in ("format", "now", "policy"):
        yield f"  {json.dumps(key)}: {_nested(head[key], 2)},\n"
    for key, kept in (("keep", True), ("destroy", False)):
        first = True
        for entry in _entries(plans, kept=kept):
            yield ("  " + json.dumps(key) + ": [\n    " if first else ",\n    ") + _nested(entry, 4)
            first = False
        yield f"  {json.dumps(key)}: []" + ",\n" if first else "\n  ],\n"
    yield f'  "datasets": {_nested(head["datasets"], 2)}\n}}'


def _nested(value: object, depth: int) -> str:
    """``value`` as json.dumps(indent=2) writes it ``depth`` spaces deep."""
    return json.dumps(value, indent=2).replace("\n", "\n" + " " * depth)


def _entries(plans: Sequence[Plan], *, kept: bool) -> Iterator[dict[str, Any]]:
    for plan in plans:
        for snap, keep, reasons in zip(plan.snapshots, plan.kept, plan.reasons, strict=True):
            if keep == kept:
                yield _entry(plan.dataset, snap, reasons)


def _json_head(plans: Sequence[Plan], *, force: bool) -> dict[str, Any]:
    """Everything of :func:`plan_json` but the entries."""
    datasets = []
    for plan in plans:
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
    return "".join(plan_table_lines(plans, force=force, show_kept=show_kept))


def plan_table_lines(plans: Sequence[Plan], *, force: bool = False, show_kept: bool = True) -> Iterator[str]:
    """:func:`plan_table` line by line (each with its newline): a million-line plan is written without building
    the whole text (offline ``plan --input`` streams its output)."""
    pending_blank = False
    for plan in plans:
        if pending_blank:
            yield "\n"
        rows = zip(plan.snapshots, plan.kept, plan.reasons, strict=True)
        width = max((len(snap.name) for snap, kept, _ in rows if show_kept or not kept), default=4)
        width = max(width, 4)
        yield f"{'ACTION':<7}  {'TIME (UTC)':<20}  {'NAME':<{width}}  REASONS\n"
        for snap, kept, reasons in zip(plan.snapshots, plan.kept, plan.reasons, strict=True):
            if show_kept or not kept:
                action = "keep" if kept else "DESTROY"
                yield f"{action:<7}  {format_instant(snap.time):<20}  {snap.name:<{width}}  {'; '.join(reasons)}\n"
        yield summary_line(plan) + "\n"
        refusal = plan.refusal(force=force)
        if refusal is not None:
            yield f"prune would refuse: {refusal}\n"
        pending_blank = True
    if not plans:
        yield "\n"


def summary_line(plan: Plan) -> str:
    where = plan.dataset or "snapshots"
    destroy = len(plan.destroy_names)
    return (
        f"{where}: {len(plan.snapshots)} snapshots, keep {len(plan.snapshots) - destroy}, destroy {destroy} "
        f"(now {format_instant(plan.now)}; policy {describe_policy(plan.policy)})"
    )
