"""A picture of which snapshots survive retention: a small, dependency-free SVG timeline drawn from a real plan. Pure.

Why here and not with a plotting library: the picture in docs/retention.md must come from the real planner, be
reproducible byte for byte (a test regenerates it) and add no dependency. Run
``python -m zfstm.retention.timeline_svg docs/img/retention-timeline.svg`` to regenerate it.

Layout: one row per tier (hourly, daily, weekly) with a tick for each snapshot that tier keeps, a row with every
survivor, and the taken snapshots behind them in grey. The time axis is split: the last two days take the right
third (so the 24 hourly survivors can be told apart), the rest of the history the left two thirds.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from zfstm.retention.plan import Plan
from zfstm.retention.planner import plan
from zfstm.retention.policy import DEFAULT_POLICY
from zfstm.retention.policy_text import describe_policy
from zfstm.retention.snapshots import RetentionSnapshot

WIDTH, LEFT, RIGHT = 900, 110, 20
ROW, TOP = 34, 40
NEAR = timedelta(days=2)  # the zoomed part of the axis
NEAR_SHARE = 1 / 3
ROWS = (("taken", "#c8c8c8"), ("hourly", "#d9822b"), ("daily", "#2b7bd9"), ("weekly", "#2a9d4b"), ("kept", "#222"))
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def hourly_history(now: datetime, weeks: int, dataset: str = "tank/tm") -> list[RetentionSnapshot]:
    """One zfstm snapshot every hour for ``weeks`` weeks up to ``now`` (what a Mac backing up hourly leaves)."""
    hours = weeks * 7 * 24
    return [
        RetentionSnapshot(f"{dataset}@zfstm-{when:%Y%m%dT%H%M%SZ}", when)
        for when in (now - timedelta(hours=h) for h in range(hours - 1, -1, -1))
    ]


def _x(age: timedelta, oldest: timedelta) -> float:
    """Horizontal position of a snapshot ``age`` old: now at the right edge, the split axis in between."""
    span = WIDTH - LEFT - RIGHT
    near_px = span * NEAR_SHARE
    if age <= NEAR:
        return WIDTH - RIGHT - near_px * (age / NEAR)
    far = max(oldest - NEAR, timedelta(hours=1))
    return WIDTH - RIGHT - near_px - (span - near_px) * min((age - NEAR) / far, 1.0)


def _tiers(reasons: tuple[str, ...]) -> set[str]:
    return {reason.split(" ", 1)[0] for reason in reasons} & {"hourly", "daily", "weekly"}


def timeline_svg(result: Plan, title: str) -> str:
    """The SVG text for ``result``; deterministic (no dates from the clock, fixed number formats)."""
    decisions = result.decisions
    oldest = max((result.now - d.snapshot.time for d in decisions), default=NEAR)
    height = TOP + ROW * len(ROWS) + 50
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>',
        f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    counts = {"taken": len(decisions), "kept": sum(1 for d in decisions if d.keep)}
    for name in ("hourly", "daily", "weekly"):
        counts[name] = sum(1 for d in decisions if d.keep and name in _tiers(d.reasons))
    for row, (name, colour) in enumerate(ROWS):
        y = TOP + row * ROW
        out.append(f'<text x="{LEFT - 8}" y="{y + 16}" text-anchor="end">{name} ({counts[name]})</text>')
        out.append(f'<line x1="{LEFT}" y1="{y + 24}" x2="{WIDTH - RIGHT}" y2="{y + 24}" stroke="#eee"/>')
        ticks = []
        for decision in decisions:
            if name == "taken" or (decision.keep and (name == "kept" or name in _tiers(decision.reasons))):
                x = _x(result.now - decision.snapshot.time, oldest)
                ticks.append(f"M{x:.1f} {y + 4}v20")
        if ticks:
            out.append(f'<path d="{"".join(ticks)}" stroke="{colour}" stroke-width="1.2"/>')
    axis = TOP + ROW * len(ROWS) + 6
    split = _x(NEAR, oldest)
    out.append(f'<line x1="{split:.1f}" y1="{TOP}" x2="{split:.1f}" y2="{axis}" stroke="#999" stroke-dasharray="4 3"/>')
    marks = [(timedelta(0), "now"), (timedelta(days=1), "-24h"), (NEAR, "-2d")]
    marks += [(timedelta(days=d), f"-{d}d") for d in (7, 14, 31, 42, 56) if timedelta(days=d) < oldest]
    marks.append((oldest, f"-{oldest.days}d"))
    for age, label in marks:
        x = _x(age, oldest)
        out.append(f'<line x1="{x:.1f}" y1="{axis}" x2="{x:.1f}" y2="{axis + 5}" stroke="#333"/>')
        out.append(f'<text x="{x:.1f}" y="{axis + 18}" text-anchor="middle">{label}</text>')
    policy = escape(describe_policy(result.policy))
    note = f"policy {policy}; the axis is stretched for the last two days (right of the dashed line)"
    out.append(f'<text x="{LEFT}" y="{axis + 36}" fill="#555">{note}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def documentation_svg() -> str:
    """The picture in docs/retention.md: ten weeks of hourly snapshots under the default policy, in UTC."""
    history = hourly_history(NOW, weeks=10)
    result = plan(history, NOW, DEFAULT_POLICY, dataset="tank/tm")
    return timeline_svg(result, "Which of 10 weeks of hourly snapshots survive (zfstm's default policy)")


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else Path("docs/img/retention-timeline.svg")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(documentation_svg(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
