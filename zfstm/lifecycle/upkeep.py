"""After snapshotting: move the known-good hold, plan retention, and keep the CNID dataset in lockstep. Pure.

Known-good: ``timemachine.knowngood.plan_known_good_hold`` decides (hold the new one before releasing the old).
Retention sees the holds as they will be after those steps, so the snapshot that is about to become known-good is
already protected and the one about to be released is already a candidate.

Skipped empty snapshots: when a due snapshot was skipped because ``written`` was 0, the newest snapshot got
``zfstm:stands-until=<now>``. With ``pick = last`` a bucket's representative is the state at the end of the
bucket, and that snapshot *is* the state up to then, so retention places it at its ``stands-until`` time: it
represents the latest slot it stands for and is kept as long as a snapshot taken then would have been. (With
``pick = first`` its own time is already the right one.)

CNID dataset: its snapshots share their short names with the share's snapshots (one atomic call). One is kept
while any partner share still has a snapshot of that name, while it is the newest, and while it is held; it carries
the known-good tag exactly when a partner's known-good snapshot has its name. Foreign snapshots are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from zfstm.config.model import Target
from zfstm.naming import NamingScheme
from zfstm.retention import Plan, plan
from zfstm.snapshots.model import DatasetState, retention_view
from zfstm.snapshots.tags import KNOWN_GOOD_HOLD, REPLICA_KNOWN_GOOD
from zfstm.timemachine.knowngood import HoldAction, HoldPlan, HoldStep, choose_known_good, plan_known_good_hold
from zfstm.zfs.names import SnapshotName


@attrs.frozen
class TargetUpkeep:
    """The known-good hold steps and the retention plan for one target's dataset."""

    target: str
    hold: HoldPlan
    retention: Plan

    @property
    def known_good(self) -> str | None:
        return self.hold.target

    @property
    def destroy(self) -> tuple[str, ...]:
        return self.retention.destroy_names


@attrs.frozen
class CnidUpkeep:
    """Hold steps and snapshots to destroy on a CNID dataset, following its partner shares."""

    dataset: str
    partners: tuple[str, ...]
    steps: tuple[HoldStep, ...]
    destroy: tuple[str, ...]
    reason: str


def holds_after(state: DatasetState, steps: Sequence[HoldStep]) -> dict[str, frozenset[str]]:
    """Each snapshot's hold tags once ``steps`` ran."""
    holds = {view.name.full: set(view.holds) for view in state.snapshots}
    for step in steps:
        tags = holds.setdefault(step.snapshot, set())
        if step.action is HoldAction.HOLD:
            tags.add(step.tag)
        else:
            tags.discard(step.tag)
    return {name: frozenset(tags) for name, tags in holds.items()}


def plan_target_upkeep(
    target: Target, state: DatasetState, now: datetime, *, naming: NamingScheme, adopted: Sequence[NamingScheme]
) -> TargetUpkeep:
    """Known-good hold steps, then the retention plan over the holds those steps leave."""
    held = [view.name.full for view in state.held(KNOWN_GOOD_HOLD)]
    records = [view.record() for view in state.snapshots]
    if target.replica:  # the source decides what is known-good; a hold here could stall the next receive
        hold = HoldPlan(held[-1] if held else None, (), "replica: zfstm moves no hold on it")
    else:
        hold = plan_known_good_hold(records, held)
    after = holds_after(state, hold.steps)
    chosen = choose_known_good(records) if target.replica else None
    if chosen is not None:  # kept as if held: the replica's known-good is what a restore from it would want
        after[chosen.name] = after.get(chosen.name, frozenset()) | {REPLICA_KNOWN_GOOD}
    snapshots = [
        retention_view(view, after[view.name.full], pick=target.retention.pick, naming=naming, adopted=adopted)
        for view in state.snapshots
    ]
    retention = plan(snapshots, now, target.retention, usage=state.usage, dataset=state.dataset.full)
    return TargetUpkeep(target.name, hold, retention)


def plan_cnid_upkeep(cnid: DatasetState, partners: Sequence[tuple[DatasetState, TargetUpkeep]]) -> CnidUpkeep:
    """Follow the partner shares: tag the partners' known-good names, destroy what no partner keeps any more."""
    shorts_kept: set[str] = set()
    wanted_held: set[str] = set()
    for state, upkeep in partners:
        destroyed = set(upkeep.destroy)
        shorts_kept.update(view.name.short for view in state.snapshots if view.name.full not in destroyed)
        if upkeep.known_good is not None:
            wanted_held.add(SnapshotName.parse(upkeep.known_good).short)
    present = {view.name.short: view for view in cnid.snapshots}
    wanted = {present[short].name.full for short in wanted_held if short in present}
    held_now = {view.name.full for view in cnid.held(KNOWN_GOOD_HOLD)}
    steps = [HoldStep(HoldAction.HOLD, name) for name in sorted(wanted - held_now)]
    steps += [HoldStep(HoldAction.RELEASE, name) for name in sorted(held_now - wanted)]
    after = holds_after(cnid, steps)
    newest = cnid.newest
    destroy = tuple(
        view.name.full
        for view in cnid.snapshots
        if view.zfstm_owned
        and view.name.short not in shorts_kept
        and not after[view.name.full]
        and (newest is None or view.name != newest.name)
    )
    names = tuple(state.dataset.full for state, _ in partners)
    reason = f"follows {', '.join(names)}: kept while a partner snapshot of the same name exists"
    return CnidUpkeep(cnid.dataset.full, names, tuple(steps), destroy, reason)
