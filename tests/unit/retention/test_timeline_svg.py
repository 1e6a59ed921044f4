"""The retention timeline picture: regenerated from the real planner it equals the committed docs file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from xml.etree import ElementTree

from zfstm.retention import DEFAULT_POLICY, plan
from zfstm.retention.timeline_svg import documentation_svg, hourly_history, timeline_svg

DOCS_SVG = Path(__file__).resolve().parents[3] / "docs" / "img" / "retention-timeline.svg"


def test_committed_picture_is_what_the_planner_draws_today() -> None:
    """docs/img/retention-timeline.svg is exactly what `python -m zfstm.retention.timeline_svg` writes now."""
    assert DOCS_SVG.read_text(encoding="utf-8") == documentation_svg()


def test_picture_is_valid_svg_with_one_kept_tick_per_survivor() -> None:
    """The SVG parses as XML, and the 'kept' row has one tick per snapshot the plan keeps."""
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    result = plan(hourly_history(now, weeks=3), now, DEFAULT_POLICY)
    root = ElementTree.fromstring(timeline_svg(result, "t"))
    paths = [p.get("d", "") for p in root.iter("{http://www.w3.org/2000/svg}path")]
    assert paths[-1].count("M") == len(result.keep)
    assert paths[0].count("M") == 3 * 7 * 24


def test_history_is_hourly_and_ends_now() -> None:
    """The simulated history has one snapshot per hour, the newest at now."""
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    history = hourly_history(now, weeks=1)
    assert len(history) == 168 and history[-1].time == now
    assert all(b.time - a.time == timedelta(hours=1) for a, b in pairwise(history))
