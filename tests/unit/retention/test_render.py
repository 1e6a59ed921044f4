"""Plan renderers: the JSON document (stable interface) and the table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from zfstm.plan_render import plan_json, plan_table
from zfstm.retention import Policy, RetentionSnapshot, Tier, Unit, plan

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
