"""The planner: (snapshots, now, policy) -> Plan, in O(n log n) — one sort, then linear passes.

Steps: sort by (time, name); per tier, bisect for the managed snapshots young enough for it, compute their bucket
keys (and those of slightly older snapshots that may share a bucket with them) and each bucket's representative in
one dict pass; add the always-kept reasons; explain every snapshot nobody keeps, memoised per bucket; then, when the
dataset is fuller than the space tier allows, give up the oldest snapshots kept only by the coarsest tier.

Allocation matters at 100k snapshots (the garbage collector rescans everything): reason strings and tuples are
shared per bucket, and per-snapshot objects are left to :attr:`Plan.decisions`.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import compress, islice, pairwise
from operator import attrgetter, eq

import attrs

from zfstm.clock import as_utc
from zfstm.retention.calendar import BUCKET_REACH, LocalCalendar
from zfstm.retention.durations import format_duration
from zfstm.retention.plan import Plan
from zfstm.retention.policy import DEFAULT_POLICY, Pick, Policy, Tier, Unit
from zfstm.retention.snapshots import KNOWN_GOOD_HOLD, REPLICA_KNOWN_GOOD, RetentionSnapshot

_UNIT_ORDER = {Unit.HOUR: 0, Unit.DAY: 1, Unit.WEEK: 2, Unit.MONTH: 3}
_FOREIGN = ("foreign",)
_OLDER_THAN_EVERY_TIER = ("older than every tier",)
_by_epoch = attrgetter("epoch")
_by_name = attrgetter("name")
_by_holds = attrgetter("holds")
_by_managed = attrgetter("managed")


@attrs.define
class _TierView:
    """One tier's outcome over the managed snapshots (indices into the sorted managed list)."""

    tier: Tier
    cut: int  # first index young enough for the tier
    too_old: str
    start: int = 0  # first index whose bucket key was computed
    keys: Sequence[int] = attrs.Factory(lambda: array("q"))
    reps: dict[int, int] = attrs.Factory(dict)


def plan(
    snapshots: Iterable[RetentionSnapshot],
    now: datetime,
    policy: Policy = DEFAULT_POLICY,
    *,
    usage: float | None = None,
    dataset: str = "",
) -> Plan:
    """Decide for every snapshot of one dataset: keep or destroy, with all reasons. Pure and deterministic.

    ``usage`` is the used fraction of the pool or dataset (per ``policy.space.basis``); it only matters when the
    policy has a space tier.
    """
    now = as_utc(now)
    now_ts = now.timestamp()
    ordered, all_epochs = _sorted(snapshots)
    del snapshots  # the caller's list may be its last reference (an offline plan passes it on): gone before planning
    flags = list(map(_by_managed, ordered))
    if all(flags):
        managed, epochs = ordered, all_epochs
    else:
        managed = list(compress(ordered, flags))
        epochs = list(compress(all_epochs, flags))
    del flags
    count = len(managed)
    calendar = LocalCalendar(policy.zone, policy.week_start)
    labeler = _Labeler(calendar, policy.zone, managed)

    views = [_tier_view(tier, epochs, now_ts) for tier in policy.tiers]
    _bucket(views, epochs, calendar, policy.pick)
    keeping = _keep_reasons(views, managed, policy, labeler)
    reasons: list[tuple[str, ...]] = _explain(views, count, keeping, labeler)
    kept = [False] * count
    for index, why in keeping.items():
        kept[index] = True
        reasons[index] = tuple(why)
    if policy.space is not None and usage is not None and usage > policy.space.above:
        _space_tier(policy, usage, keeping, kept, reasons)

    if count < len(ordered):
        kept, reasons = _merge_foreign(ordered, kept, reasons)
    limit = now_ts + policy.clock_tolerance.total_seconds()
    future = tuple(managed[bisect_right(epochs, limit) :])
    # Each list goes as soon as its tuple is made: at a million snapshots every list is 8 MB (docs/benchmarks.md).
    del views, keeping, labeler, managed, epochs, all_epochs
    snapshots_done = tuple(ordered)
    del ordered
    kept_done = tuple(kept)
    del kept
    return Plan(
        dataset=dataset,
        now=now,
        policy=policy,
        snapshots=snapshots_done,
        kept=kept_done,
        reasons=tuple(reasons),
        usage=usage,
        future=future,
    )


def _sorted(snapshots: Iterable[RetentionSnapshot]) -> tuple[list[RetentionSnapshot], list[int]]:
    """Oldest first, with their epochs; equal times by name, so the plan never depends on the input order."""
    items = sorted(snapshots, key=_by_epoch)  # timsort: linear when ZFS already listed them in order
    epochs = list(map(_by_epoch, items))
    # Ties are rare: find equal neighbours at C speed, then sort only each run of equal times, by name.
    tied = list(compress(range(len(epochs) - 1), map(eq, epochs, islice(epochs, 1, None))))
    done = -1
    for index in tied:
        if index <= done:
            continue
        end = bisect_right(epochs, epochs[index], index)
        items[index:end] = sorted(items[index:end], key=_by_name)
        done = end - 1
    return items, epochs


def _tier_view(tier: Tier, epochs: list[int], now_ts: float) -> _TierView:
    """Bisect for the tier's age cut (strictly younger than max_age) and the first snapshot that may share a bucket."""
    cut = 0 if tier.max_age is None else bisect_right(epochs, now_ts - tier.max_age.total_seconds())
    view = _TierView(tier=tier, cut=cut, too_old=f"older than {_limit(tier)} for {tier.name}")
    if tier.unit is not None and cut < len(epochs):
        view.start = bisect_left(epochs, epochs[cut] - BUCKET_REACH[tier.unit])
    return view


def _bucket(views: list[_TierView], epochs: list[int], calendar: LocalCalendar, pick: Pick) -> None:
    """Bucket keys and representatives for each calendar tier, over the range that can matter to it."""
    active = [view for view in views if view.tier.unit is not None and view.cut < len(epochs)]
    if not active:
        return
    start = min(view.start for view in active)
    local = calendar.local_seconds(epochs if start == 0 else epochs[start:])
    for view in active:
        assert view.tier.unit is not None
        view.keys = calendar.keys(view.tier.unit, memoryview(local)[view.start - start :])  # a view, no copy
        view.reps = _representatives(view.keys, view.start, pick)


def _representatives(keys: Sequence[int], offset: int, pick: Pick) -> dict[int, int]:
    """Bucket key -> index of its representative (last or first managed snapshot in it)."""
    if pick is Pick.LAST:
        return {key: offset + position for position, key in enumerate(keys)}
    reps: dict[int, int] = {}
    for position in range(len(keys) - 1, -1, -1):
        reps[keys[position]] = offset + position
    return reps


def _keep_reasons(
    views: list[_TierView], managed: list[RetentionSnapshot], policy: Policy, labeler: _Labeler
) -> dict[int, list[str]]:
    """Index -> every reason to keep it: tiers in policy order, then newest, min_keep, holds, known-good."""
    keeping: dict[int, list[str]] = {}
    count = len(managed)
    for view in views:
        unit = view.tier.unit
        if unit is None:
            reason = f"all: younger than {_limit(view.tier)}"
            for index in range(view.cut, count):
                keeping.setdefault(index, []).append(reason)
            continue
        for key, index in view.reps.items():
            if index >= view.cut:
                keeping.setdefault(index, []).append(labeler.label(unit, key))
    if count:
        keeping.setdefault(count - 1, []).append("newest")
        floor_reason = f"min_keep {policy.min_keep}"
        for index in range(max(0, count - policy.min_keep), count):
            keeping.setdefault(index, []).append(floor_reason)
    for index in compress(range(count), map(_by_holds, managed)):
        keeping.setdefault(index, []).extend(_hold_reasons(managed[index]))
    for why in keeping.values():
        why.sort(key=_REASON_ORDER_KEY)
    return keeping


def _reason_rank(reason: str) -> int:
    """Tier reasons first (finest unit first), then the always-kept ones in a fixed order."""
    head = reason.split(" ", 1)[0].rstrip(":")
    return _REASON_RANK.get(head, len(_REASON_RANK))


_REASON_RANK = {
    name: rank
    for rank, name in enumerate(("all", "hourly", "daily", "weekly", "monthly", "newest", "min_keep", "held"))
}
_REASON_ORDER_KEY = _reason_rank


def _explain(
    views: list[_TierView], count: int, keeping: dict[int, list[str]], labeler: _Labeler
) -> list[tuple[str, ...]]:
    """Reasons for every managed index that nobody keeps (placeholders for the kept ones).

    Indices are split at the tiers' age cuts into segments in which the same tiers apply; within a segment the
    reasons depend only on the applicable tiers' buckets, so they are built once per bucket combination.
    """
    reasons: list[tuple[str, ...]] = [_OLDER_THAN_EVERY_TIER] * count
    cuts = sorted({0, count, *(min(view.cut, count) for view in views)})
    for low, high in pairwise(cuts):
        applicable = [view for view in views if view.cut <= low]
        if not applicable or any(view.tier.unit is None for view in applicable):
            continue  # older than every tier (the default), or an `all` tier keeps the whole segment
        too_old = tuple(view.too_old for view in views if view.cut > low)
        if len(applicable) == 1:
            _explain_one(applicable[0], low, high, too_old=too_old, keeping=keeping, labeler=labeler, reasons=reasons)
            continue
        memo: dict[tuple[int, ...], tuple[str, ...]] = {}
        for index in range(low, high):
            if index in keeping:
                continue
            bucket_keys = tuple(view.keys[index - view.start] for view in applicable)
            why = memo.get(bucket_keys)
            if why is None:
                pairs = zip(applicable, bucket_keys, strict=True)
                missed = (_not_representative(view, key, labeler) for view, key in pairs)
                why = memo[bucket_keys] = (*missed, *too_old)
            reasons[index] = why
    return reasons


def _explain_one(
    view: _TierView,
    low: int,
    high: int,
    *,
    too_old: tuple[str, ...],
    keeping: dict[int, list[str]],
    labeler: _Labeler,
    reasons: list[tuple[str, ...]],
) -> None:
    """The common case of :func:`_explain`: one applicable tier (the old part of a history, weekly for ever)."""
    memo: dict[int, tuple[str, ...]] = {}
    keys = islice(view.keys, low - view.start, high - view.start)  # no copy: weekly for ever spans all of them
    for index, key in zip(range(low, high), keys, strict=True):
        if index in keeping:
            continue
        why = memo.get(key)
        if why is None:
            why = memo[key] = (_not_representative(view, key, labeler), *too_old)
        reasons[index] = why


def _not_representative(view: _TierView, key: int, labeler: _Labeler) -> str:
    unit = view.tier.unit
    assert unit is not None  # an `all` tier keeps everything past its cut, so it never explains a destroy
    rep = view.reps[key]
    label = labeler.label(unit, key)
    rep_name = labeler.snapshots[rep].name
    if rep >= view.cut:
        return f"not a representative: {label} kept by {rep_name}"
    return f"not a representative: {label} represented by {rep_name}, {view.too_old}"


class _Labeler:
    """Bucket reason strings, built once per bucket."""

    def __init__(self, calendar: LocalCalendar, zone: str, snapshots: list[RetentionSnapshot]) -> None:
        self._calendar = calendar
        self._zone = zone
        self.snapshots = snapshots
        self._labels: dict[tuple[Unit, int], str] = {}

    def label(self, unit: Unit, key: int) -> str:
        label = self._labels.get((unit, key))
        if label is None:
            label = self._labels[unit, key] = f"{unit.value} {self._calendar.label(unit, key)} ({self._zone})"
        return label


def _hold_reasons(snap: RetentionSnapshot) -> list[str]:
    reasons = [f"held: {tag}" for tag in sorted(snap.holds) if tag != REPLICA_KNOWN_GOOD]
    if KNOWN_GOOD_HOLD in snap.holds:
        reasons.append("known-good")
    if REPLICA_KNOWN_GOOD in snap.holds:
        reasons.append("known-good on the replica (by its received properties; no hold)")
    return reasons


def _limit(tier: Tier) -> str:
    return "ever" if tier.max_age is None else format_duration(tier.max_age)


def _space_tier(
    policy: Policy,
    usage: float,
    keeping: dict[int, list[str]],
    kept: list[bool],
    reasons: list[tuple[str, ...]],
) -> None:
    """Over the usage threshold: destroy the oldest snapshots whose only reasons are the coarsest tier's."""
    space = policy.space
    assert space is not None
    units = [tier.unit for tier in policy.tiers if tier.unit is not None]
    if not units:
        return
    coarsest = max(units, key=_UNIT_ORDER.__getitem__)
    prefix = coarsest.value + " "
    given_up = 0
    for index in sorted(keeping):
        if given_up >= space.per_run:
            break
        why = keeping[index]
        if all(reason.startswith(prefix) for reason in why):
            kept[index] = False
            reasons[index] = (
                f"space: {space.basis} usage {usage:.1%} above {space.above:.1%}, oldest {coarsest.value} "
                "representatives go first",
                *(f"was {reason}" for reason in why),
            )
            given_up += 1


def _merge_foreign(
    ordered: list[RetentionSnapshot], kept: list[bool], reasons: list[tuple[str, ...]]
) -> tuple[list[bool], list[tuple[str, ...]]]:
    """Interleave the foreign snapshots (always kept, never candidates) with the managed decisions."""
    all_kept: list[bool] = []
    all_reasons: list[tuple[str, ...]] = []
    position = 0
    for snap in ordered:
        if snap.managed:
            all_kept.append(kept[position])
            all_reasons.append(reasons[position])
            position += 1
        else:
            all_kept.append(True)
            all_reasons.append((*_FOREIGN, *_hold_reasons(snap)) if snap.holds else _FOREIGN)
    return all_kept, all_reasons
