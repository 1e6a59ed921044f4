"""Plan renderers: the JSON document (stable interface) and the table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import histories, policies
from zfstm.clock import format_instant
from zfstm.retention import Policy, RetentionSnapshot, Tier, Unit, plan
from zfstm.retention.plan import Plan
from zfstm.retention.render import plan_json, plan_json_chunks, plan_table, plan_table_lines, summary_line

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def example() -> list[RetentionSnapshot]:
    return [
        RetentionSnapshot("tank/tm@a", NOW - timedelta(minutes=50)),
        RetentionSnapshot("tank/tm@b", NOW - timedelta(minutes=20)),
        RetentionSnapshot("tank/tm@mine", NOW - timedelta(minutes=40), managed=False, holds=frozenset({"x"})),
    ]


def test_json_document() -> None:
    """keep and destroy lists of {name, dataset, time, managed, holds, reasons}, plus per-dataset summaries."""
    the_plan = plan(example(), NOW, Policy(tiers=(Tier(Unit.HOUR, None),)), dataset="tank/tm")
    document = json.loads(json.dumps(plan_json([the_plan])))
    assert document["now"] == "2026-11-28T12:00:00Z"
    assert [e["name"] for e in document["keep"]] == ["tank/tm@mine", "tank/tm@b"]
    assert document["destroy"] == [
        {
            "name": "tank/tm@a",
            "dataset": "tank/tm",
            "time": "2026-11-28T11:10:00Z",
            "managed": True,
            "holds": [],
            "reasons": ["not a representative: hourly 2026-11-28 11:00 (UTC) kept by tank/tm@b"],
        }
    ]
    assert document["keep"][0]["holds"] == ["x"]
    assert document["datasets"] == [
        {"dataset": "tank/tm", "snapshots": 3, "keep": 2, "destroy": 1, "usage": None, "refusal": None}
    ]


def test_json_reports_refusal() -> None:
    """A plan prune would refuse carries the refusal kind and message."""
    snaps = [*example(), RetentionSnapshot("tank/tm@future", NOW + timedelta(hours=1))]
    document = plan_json([plan(snaps, NOW, dataset="tank/tm")])
    assert document["datasets"][0]["refusal"]["kind"] == "ClockSkewError"


def test_table() -> None:
    """One line per snapshot with action, UTC time, name and reasons, then a summary line."""
    text = plan_table([plan(example(), NOW, Policy(tiers=(Tier(Unit.HOUR, None),)), dataset="tank/tm")])
    lines = text.splitlines()
    assert lines[0].split() == ["ACTION", "TIME", "(UTC)", "NAME", "REASONS"]
    assert lines[1].split()[:3] == ["DESTROY", "2026-11-28T11:10:00Z", "tank/tm@a"]
    assert "foreign; held: x" in lines[2]
    assert lines[4].startswith("tank/tm: 3 snapshots, keep 2, destroy 1")
    only = plan_table([plan(example(), NOW, Policy(tiers=(Tier(Unit.HOUR, None),)))], show_kept=False)
    assert len(only.splitlines()) == 3


def _table_reference(plans: list[Plan], *, show_kept: bool) -> str:
    """The table as built in one string before it was streamed (kept here to prove the streamed one identical)."""
    lines: list[str] = []
    for the_plan in plans:
        rows = [
            ("keep" if kept else "DESTROY", format_instant(snap.time), snap.name, "; ".join(reasons))
            for snap, kept, reasons in zip(the_plan.snapshots, the_plan.kept, the_plan.reasons, strict=True)
            if show_kept or not kept
        ]
        width = max([len(row[2]) for row in rows] + [4])
        lines.append(f"{'ACTION':<7}  {'TIME (UTC)':<20}  {'NAME':<{width}}  REASONS")
        lines.extend(f"{action:<7}  {time:<20}  {name:<{width}}  {why}" for action, time, name, why in rows)
        lines.append(summary_line(the_plan))
        refusal = the_plan.refusal()
        if refusal is not None:
            lines.append(f"prune would refuse: {refusal}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


@settings(max_examples=60, deadline=None)
@given(st.lists(histories(NOW, max_size=12), min_size=0, max_size=3), policies(), st.booleans())
def test_streamed_output_is_the_same_text(groups: list[list[RetentionSnapshot]], policy: Policy, kept: bool) -> None:
    """Offline `plan --input` writes the table and JSON in pieces (memory); the text is exactly the one-piece one."""
    plans = [plan(group, NOW, policy, dataset=f"tank/d{index}") for index, group in enumerate(groups)]
    assert "".join(plan_table_lines(plans, show_kept=kept)) == _table_reference(plans, show_kept=kept)
    assert "".join(plan_json_chunks(plans)) == json.dumps(plan_json(plans), indent=2)
