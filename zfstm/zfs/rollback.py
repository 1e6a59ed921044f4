"""The rollback rule shared by all backends: refuse while newer snapshots exist, unless told to destroy them first.

Why not ``zfs rollback -r``: it destroys the newer snapshots (and bookmarks) one by one and stops at the first held
one, leaving a half-pruned dataset that was not rolled back. Here the newer snapshots go in one all-or-nothing
batch first (no stripping and retrying as in destroy_snapshots: if one is held, none is destroyed); only when every
one of them is gone does the rollback itself run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from zfstm.errors import DatasetNotFound, SnapshotCloned, SnapshotHeld, SnapshotNotLatest, ZfsError
from zfstm.zfs.destroy import Refusals
from zfstm.zfs.names import SnapshotName
from zfstm.zfs.types import DestroyOutcome, DestroyReport, DestroyResult, SnapshotInfo


def newer_than(snapshots: Sequence[SnapshotInfo], target: SnapshotName) -> list[SnapshotName]:
    """Snapshots of the same listing created after ``target``; DatasetNotFound if ``target`` is not listed."""
    by_name = {info.name: info for info in snapshots}
    info = by_name.get(target)
    if info is None:
        raise DatasetNotFound("snapshot does not exist", dataset=target.full, operation="rollback")
    return [s.name for s in snapshots if s.createtxg > info.createtxg]


def refuse_newer(target: SnapshotName, newer: Sequence[SnapshotName]) -> SnapshotNotLatest:
    """The error for a rollback that would have to destroy ``newer``."""
    shown = ", ".join(n.short for n in newer[:5]) + (f" and {len(newer) - 5} more" if len(newer) > 5 else "")
    return SnapshotNotLatest(
        f"{len(newer)} newer snapshot(s) exist ({shown}); pass destroy_newer=True to destroy them first",
        dataset=target.full,
        operation="rollback",
    )


def error_for_refusal(refusals: Refusals, target: SnapshotName) -> ZfsError:
    """The exception that stops a rollback because some newer snapshots could not be destroyed."""
    first_outcome, first_message = next(iter(refusals.values()))
    names = ", ".join(name.full for name in refusals)
    message = (
        f"cannot roll back: newer snapshot(s) {names} could not be destroyed ({first_message or first_outcome.value}); "
        "nothing was destroyed or rolled back"
    )
    if first_outcome is DestroyOutcome.HELD:
        return SnapshotHeld(message + "; release their holds first", dataset=target.full, operation="rollback")
    if first_outcome is DestroyOutcome.CLONED:
        return SnapshotCloned(
            message + "; destroy or promote the clones first", dataset=target.full, operation="rollback"
        )
    return ZfsError(message, dataset=target.full, operation="rollback")


def rollback_procedure(
    target: SnapshotName,
    *,
    destroy_newer: bool,
    list_snapshots: Callable[[], Sequence[SnapshotInfo]],
    destroy_all: Callable[[Sequence[SnapshotName]], Refusals],
    rollback: Callable[[], None],
) -> DestroyReport:
    """Run the rule with a backend's own steps; returns the report of the newer snapshots destroyed.

    ``destroy_all`` destroys all names it is given or none, returning the refused ones (a backend's batch attempt).
    """
    newer = newer_than(list_snapshots(), target)
    if newer:
        if not destroy_newer:
            raise refuse_newer(target, newer)
        refusals = destroy_all(newer)
        if refusals:
            raise error_for_refusal(refusals, target)
    rollback()
    return DestroyReport(tuple(DestroyResult(name, DestroyOutcome.DESTROYED) for name in newer))
