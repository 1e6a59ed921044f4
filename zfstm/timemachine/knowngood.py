"""Which snapshot is known-good, and how to move its hold without a moment where none is held.

Known-good is the newest snapshot taken after a completed, quiet backup while Time Machine reported a healthy
bundle (see ``SnapshotRecord.after_verified_completion``). It carries the ZFS hold ``zfstm-known-good`` so neither
retention nor a careless ``zfs destroy`` can remove it. Moving the hold is a plan of ordered steps, built here so
the shell cannot get the order wrong: hold the new one first, then release the old ones. If the shell dies between
the two, two snapshots are held; the next plan releases the older one. The hold only ever moves forward in time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from enum import StrEnum

import attrs

from zfstm.snapshots.tags import KNOWN_GOOD_HOLD
from zfstm.timemachine.properties import SnapshotRecord


class HoldAction(StrEnum):
    HOLD = "hold"
    RELEASE = "release"


@attrs.frozen
class HoldStep:
    """One ``zfs hold``/``zfs release`` to run, in plan order."""

    action: HoldAction
    snapshot: str
    tag: str = KNOWN_GOOD_HOLD


@attrs.frozen
class HoldPlan:
    """The known-good snapshot after the plan ran (None if there is none), the ordered steps, and why."""

    target: str | None
    steps: tuple[HoldStep, ...]
    reason: str


def _order(record: SnapshotRecord) -> tuple[object, ...]:
    return (record.created, record.name)


def choose_known_good(records: Iterable[SnapshotRecord]) -> SnapshotRecord | None:
    """The newest snapshot taken after a completed, verified backup, or None."""
    return max((r for r in records if r.after_verified_completion), key=_order, default=None)


def plan_known_good_hold(records: Collection[SnapshotRecord], held: Collection[str]) -> HoldPlan:
    """Steps that leave exactly one known-good hold, on the newest eligible snapshot, holding before releasing.

    ``records`` are the dataset's snapshots; ``held`` the names currently carrying the tag. A held snapshot newer
    than every eligible one keeps the hold (the hold never moves back in time); held names without a record are
    left alone, since zfstm cannot tell how old they are.
    """
    by_name = {record.name: record for record in records}
    held_records = [by_name[name] for name in held if name in by_name]
    candidates = [record for record in records if record.after_verified_completion] + held_records
    if not candidates:
        return HoldPlan(None, (), "no snapshot was taken after a completed, verified backup")
    target = max(candidates, key=_order)
    steps: list[HoldStep] = []
    if target.name not in held:
        steps.append(HoldStep(HoldAction.HOLD, target.name))
    older = sorted((r for r in held_records if r.name != target.name), key=_order)
    steps.extend(HoldStep(HoldAction.RELEASE, record.name) for record in older)
    why = (
        "is the newest snapshot taken after a completed, verified backup"
        if target.after_verified_completion
        else "is held and newer than every snapshot taken after a verified backup: the hold never moves back"
    )
    if not steps:
        return HoldPlan(target.name, (), f"{target.name} already holds {KNOWN_GOOD_HOLD} and {why}")
    return HoldPlan(target.name, tuple(steps), f"{target.name} {why}")
