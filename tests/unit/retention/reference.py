"""A deliberately naive retention planner, written separately from zfstm.retention, to check it against.

Straightforward and slow (quadratic): every snapshot's buckets are wall-clock labels from ``datetime.astimezone``
and ``strftime``; a bucket's members are found by scanning the whole list. It returns, per snapshot name, whether
it is kept and the SET of keep reasons, which must equal the planner's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from zfstm.retention.policy import Pick, Policy, Tier, Unit
from zfstm.retention.snapshots import KNOWN_GOOD_HOLD, RetentionSnapshot

WEEKDAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def bucket_label(unit: Unit, time: datetime, zone: str, week_start: int) -> str:
    """The wall-clock label of the bucket holding ``time``: what a person reading the local clock would write."""
    local = time.astimezone(ZoneInfo(zone))
    if unit is Unit.HOUR:
        return local.strftime("%Y-%m-%d %H:00")
    if unit is Unit.DAY:
        return local.strftime("%Y-%m-%d")
    if unit is Unit.MONTH:
        return local.strftime("%Y-%m")
    day: date = local.date()
    first = day - timedelta(days=(day.weekday() - week_start) % 7)
    if week_start == 0:
        iso = first.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    return f"week of {WEEKDAY_ABBREVIATIONS[week_start]} {first.isoformat()}"


def duration_text(value: timedelta) -> str:
    """The same duration wording as the planner's reasons (only for the `all` tier's reason)."""
    seconds = int(value.total_seconds())
    parts = []
    if seconds >= 2 * 86400:
        parts.append(f"{seconds // 86400}d")
        seconds %= 86400
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def reference_plan(
    snapshots: list[RetentionSnapshot], now: datetime, policy: Policy
) -> dict[str, tuple[bool, frozenset[str]]]:
    """name -> (kept, the set of reasons it is kept; empty when destroyed)."""
    managed = [snap for snap in snapshots if snap.managed]

    def order(snap: RetentionSnapshot) -> tuple[datetime, str]:
        return (snap.time, snap.name)

    newest_first = sorted(managed, key=order, reverse=True)
    result: dict[str, tuple[bool, frozenset[str]]] = {}
    for snap in snapshots:
        reasons: set[str] = set()
        for tag in snap.holds:
            reasons.add(f"held: {tag}")
        if KNOWN_GOOD_HOLD in snap.holds:
            reasons.add("known-good")
        if not snap.managed:
            reasons.add("foreign")
            result[snap.name] = (True, frozenset(reasons))
            continue
        for tier in policy.tiers:
            if not _young_enough(snap, now, tier):
                continue
            if tier.unit is None:
                reasons.add(f"all: younger than {duration_text(tier.max_age or timedelta(0))}")
                continue
            label = bucket_label(tier.unit, snap.time, policy.zone, policy.week_start)
            members = [
                other
                for other in managed
                if bucket_label(tier.unit, other.time, policy.zone, policy.week_start) == label
            ]
            chosen = max(members, key=order) if policy.pick is Pick.LAST else min(members, key=order)
            if chosen is snap:
                reasons.add(f"{tier.unit.value} {label} ({policy.zone})")
        if snap is newest_first[0]:
            reasons.add("newest")
        if any(snap is other for other in newest_first[: policy.min_keep]):
            reasons.add(f"min_keep {policy.min_keep}")
        result[snap.name] = (bool(reasons), frozenset(reasons))
    return result


def _young_enough(snap: RetentionSnapshot, now: datetime, tier: Tier) -> bool:
    return tier.max_age is None or now - snap.time < tier.max_age
