"""One tick as a pure function: observations + configuration + now -> a :class:`TickPlan` (an action list).

Per target: the detector judges the share, ``decide_snapshot`` says take / wait / skip-empty, and
``snapshot_properties`` says what the snapshot will record. Targets to snapshot are grouped per pool into one
atomic call each, with the CNID datasets they name (so data and CNID database share one createtxg). User
properties that differ between the snapshots of one call (each share has its own activity and verdict) cannot go
into that call, because ZFS sets one property list on every snapshot of an atomic call: the shared ones go in, the
rest are set right after on each snapshot. A snapshot whose properties never arrived (a crash in between) reads as
"not known", so it can never become known-good by accident.

The upkeep part (known-good hold, retention, CNID lockstep) is planned over the state as it will be after the
snapshots; the shell re-plans it from a fresh listing after snapshotting, with the same functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType

import attrs

from zfstm.config.model import Config, Target
from zfstm.lifecycle.model import TargetObservation
from zfstm.lifecycle.upkeep import CnidUpkeep, TargetUpkeep, plan_cnid_upkeep, plan_target_upkeep
from zfstm.snapshots.model import DatasetState, SnapshotView
from zfstm.snapshots.tags import STANDS_UNTIL
from zfstm.timemachine.detector import Activity, Observations, detect
from zfstm.timemachine.due import DueAction, DueDecision, LastSnapshot, Trigger, decide_snapshot
from zfstm.timemachine.machineid import Verdict
from zfstm.timemachine.properties import snapshot_properties
from zfstm.timemachine.timefmt import format_utc
from zfstm.volume.detector import detect_volume
from zfstm.zfs.names import SnapshotName


def _frozen(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@attrs.frozen
class TargetDecision:
    """What the tick decided for one target, and the properties a snapshot taken now records."""

    target: str
    dataset: str
    activity: Activity
    due: DueDecision
    properties: Mapping[str, str] = attrs.field(converter=_frozen, hash=False)

    @property
    def take(self) -> bool:
        return self.due.action is DueAction.TAKE


@attrs.frozen
class SnapshotBatch:
    """One atomic snapshot call: every name in one pool, ``common`` properties set in the call, ``extra`` after."""

    pool: str
    names: tuple[SnapshotName, ...]
    common: Mapping[str, str] = attrs.field(converter=_frozen, hash=False)
    extra: tuple[tuple[SnapshotName, Mapping[str, str]], ...] = ()
    targets: tuple[str, ...] = ()


@attrs.frozen
class StandsUntil:
    """Mark ``snapshot`` as standing for the share's state until ``until`` (a due snapshot was skipped as empty)."""

    snapshot: SnapshotName
    until: datetime


@attrs.frozen
class TickPlan:
    """Everything one tick will do, in order: batches, stands-until marks, then per target upkeep, then CNID."""

    now: datetime
    decisions: tuple[TargetDecision, ...]
    batches: tuple[SnapshotBatch, ...]
    stands_until: tuple[StandsUntil, ...]
    upkeep: tuple[TargetUpkeep, ...]
    cnid: tuple[CnidUpkeep, ...]


def last_snapshot(state: DatasetState) -> LastSnapshot | None:
    """The newest managed snapshot as ``decide_snapshot`` needs it."""
    view = state.last_managed
    if view is None:
        return None
    return LastSnapshot(view.name.full, view.time, view.record().tm_completed)


def written_since_last(state: DatasetState) -> int | None:
    """``written`` counts from the newest snapshot of any kind; it speaks for the last managed one only if that is
    the newest (a foreign snapshot taken since would make 0 mean "same as the foreign one")."""
    last, newest = state.last_managed, state.newest
    if last is None or newest is None or last.name != newest.name:
        return None
    return state.written


def judge(obs: TargetObservation, now: datetime) -> tuple[Activity, Verdict, datetime | None]:
    """The detector's activity, the verification verdict and its date: from the share's Time Machine files, or for a
    volume from its writes alone (zfstm.volume.detector; nothing inside a Mac's filesystem is read)."""
    if obs.volume is not None:
        return detect_volume(obs.volume, obs.target.detector, now), Verdict.NOT_APPLICABLE, None
    observations = Observations.from_share(
        obs.scan,
        now=now,
        open_sessions=obs.open_sessions,
        written_bytes=obs.data.written,
        previous_written_bytes=obs.previous_written,
        session_ended_at=obs.session_end,
    )
    return detect(observations, obs.target.detector), obs.scan.verdict, obs.scan.verification_date


def decide_target(obs: TargetObservation, now: datetime, *, manual: bool = False) -> TargetDecision:
    """Judge one target: activity, whether a snapshot is due (always, when ``manual``), and its properties."""
    target = obs.target
    activity, verdict, verified = judge(obs, now)
    if target.replica:
        due = DueDecision(DueAction.WAIT, "replica: its snapshots arrive by replication; zfstm never takes one")
    elif manual:
        due = DueDecision(
            DueAction.TAKE, f"requested by hand ({activity.state.value}: {activity.reason})", Trigger.MANUAL
        )
    else:
        due = decide_snapshot(
            activity,
            last=last_snapshot(obs.data),
            written_since_last=written_since_last(obs.data),
            now=now,
            policy=target.due,
        )
    properties = snapshot_properties(
        activity=activity,
        verdict=verdict,
        verification_date=verified,
        trigger=due.trigger,
    )
    return TargetDecision(target.name, target.dataset.full, activity, due, properties)


def plan_batches(
    targets: Sequence[Target], decisions: Sequence[TargetDecision], short: str
) -> tuple[SnapshotBatch, ...]:
    """One atomic batch per pool for the targets to snapshot, with their CNID datasets."""
    by_pool: dict[str, list[tuple[Target, TargetDecision]]] = {}
    for target, decision in zip(targets, decisions, strict=True):
        if decision.take:
            by_pool.setdefault(target.dataset.pool, []).append((target, decision))
    batches = []
    for pool in sorted(by_pool):
        members = by_pool[pool]
        names: list[SnapshotName] = []
        for target, _ in members:
            names.append(target.dataset.snapshot(short))
        for target, _ in members:
            cnid = target.cnid_dataset
            if cnid is not None and all(name.dataset != cnid for name in names):
                names.append(cnid.snapshot(short))
        props = [decision.properties for _, decision in members]
        common = {key: value for key, value in props[0].items() if all(p.get(key) == value for p in props[1:])}
        extra = tuple(
            (target.dataset.snapshot(short), {k: v for k, v in decision.properties.items() if k not in common})
            for target, decision in members
            if any(k not in common for k in decision.properties)
        )
        batches.append(SnapshotBatch(pool, tuple(names), common, extra, tuple(t.name for t, _ in members)))
    return tuple(batches)


def predicted_state(state: DatasetState, batches: Sequence[SnapshotBatch], now: datetime) -> DatasetState:
    """``state`` with the snapshots the batches will create (for dry runs and the plan shown before acting)."""
    added = []
    top = max((view.createtxg for view in state.snapshots), default=0)
    for batch in batches:
        for name in batch.names:
            if name.dataset != state.dataset:
                continue
            props = dict(batch.common)
            for extra_name, extra in batch.extra:
                if extra_name == name:
                    props.update(extra)
            added.append(SnapshotView(name, now, top + 1, now, managed=True, properties=props))
    return attrs.evolve(state, snapshots=(*state.snapshots, *added), written=0 if added else state.written)


def with_stands_until(state: DatasetState, marks: Sequence[StandsUntil]) -> DatasetState:
    """``state`` with the stands-until marks applied to its snapshots."""
    until = {mark.snapshot.full: mark.until for mark in marks}
    if not any(view.name.full in until for view in state.snapshots):
        return state
    views = tuple(
        attrs.evolve(view, properties={**view.properties, STANDS_UNTIL: format_utc(until[view.name.full])})
        if view.name.full in until
        else view
        for view in state.snapshots
    )
    return attrs.evolve(state, snapshots=views)


def plan_upkeep(
    config: Config,
    observations: Sequence[TargetObservation],
    states: Mapping[str, DatasetState],
    now: datetime,
) -> tuple[tuple[TargetUpkeep, ...], tuple[CnidUpkeep, ...]]:
    """Upkeep for the observed targets over ``states`` (dataset -> state after snapshots).

    A CNID dataset is pruned only when every target of the configuration that names it is part of this tick
    (and so locked by it); otherwise its snapshots are left alone this time.
    """
    upkeeps = []
    for obs in observations:
        state = states[obs.target.dataset.full]
        upkeeps.append(
            plan_target_upkeep(obs.target, state, now, naming=config.naming.scheme, adopted=config.naming.adopted)
        )
    by_target = {upkeep.target: upkeep for upkeep in upkeeps}
    cnids: list[CnidUpkeep] = []
    cnid_names = sorted({obs.target.cnid_dataset.full for obs in observations if obs.target.cnid_dataset})
    for cnid in cnid_names:
        sharers = [target for target in config.targets if target.cnid_dataset and target.cnid_dataset.full == cnid]
        if not all(target.name in by_target for target in sharers) or cnid not in states:
            continue
        partners = [(states[target.dataset.full], by_target[target.name]) for target in sharers]
        cnids.append(plan_cnid_upkeep(states[cnid], partners))
    return tuple(upkeeps), tuple(cnids)


def plan_tick(
    config: Config,
    observations: Sequence[TargetObservation],
    now: datetime,
    *,
    manual: bool = False,
    snapshot: bool = True,
) -> TickPlan:
    """The whole tick, decided from observations: what to snapshot, mark, hold, release and destroy.

    Without ``snapshot`` (`zfstm prune`) nothing is created or marked: the upkeep is planned over the snapshots as
    they are, with the same functions as a tick's."""
    decisions = tuple(decide_target(obs, now, manual=manual) for obs in observations)
    short = config.naming.scheme.format(now)
    targets = [obs.target for obs in observations]
    batches = plan_batches(targets, decisions, short) if snapshot else ()
    marks = tuple(
        StandsUntil(SnapshotName.parse(decision.due.stands_for), now)
        for decision in decisions
        if snapshot and decision.due.action is DueAction.SKIP_EMPTY and decision.due.stands_for is not None
    )
    states: dict[str, DatasetState] = {}
    for obs in observations:
        for state in (obs.data, obs.cnid):
            if state is not None:
                states[state.dataset.full] = with_stands_until(predicted_state(state, batches, now), marks)
    upkeep, cnid = plan_upkeep(config, observations, states, now)
    return TickPlan(now, decisions, batches, marks, upkeep, cnid)
