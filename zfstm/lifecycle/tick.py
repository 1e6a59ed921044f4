"""The shell that acts: lock the targets, observe, plan (pure), then snapshot, mark, hold, release and prune.

Order matters and is fixed here:

1. take every selected target's lock (zfstm.lock); a busy target is skipped and reported (exit 5);
2. list every target's datasets at once (one batch per pool, zfstm.snapshots.reader), then observe each target;
   one that cannot be listed or observed is reported and skipped, the others go on;
3. ``plan_tick`` decides; with ``dry_run`` nothing below runs;
4. one atomic ``snapshot`` call per pool (shares + CNID datasets), then the per-snapshot properties;
5. ``zfstm:stands-until`` on the snapshots that stand for a skipped empty one;
6. when anything was created or marked, confirm it with one fast listing per pool (what exists and where the new
   snapshots stand; only the properties zfstm has just set come from memory; a dataset where that does not add
   up is listed again in full) and re-plan the upkeep with the same pure functions; otherwise the observation is
   the state;
7. per target: hold the new known-good snapshot, and only when that worked release the old one; then retention,
   after its safety check (clock, circuit breaker); all targets' destroys in one batched destroy, then the CNID
   datasets' in another;
8. per target whose known-good hold moved to a new snapshot: the ``after_known_good`` hook (zfstm.lifecycle.hooks;
   logged, never fatal).

Partial failures are values in the :class:`TickReport`, not exceptions: one target's trouble never stops another's
snapshot. That holds for unexpected exceptions too (a bug tripped by one hostile snapshot or property): they become
that target's failure with :class:`InternalError`'s exit code, and the pure planning is retried without it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import attrs

from zfstm.config.model import Config, Target
from zfstm.errors import BusyError, HoldExists, HoldNotFound, InternalError, ZfstmError
from zfstm.lifecycle.decide import TickPlan, plan_tick, plan_upkeep
from zfstm.lifecycle.hooks import run_after_known_good
from zfstm.lifecycle.model import TargetObservation
from zfstm.lifecycle.observe import SessionCounter, count_sessions, listing_of, observe, remember_written
from zfstm.lifecycle.outcome import Failure, TickReport
from zfstm.lifecycle.upkeep import CnidUpkeep, TargetUpkeep
from zfstm.lock import HeldLock, acquire
from zfstm.service.smf_exit import NOT_FIXED_BY_RESTART
from zfstm.snapshots.memory import Memory, unchanged
from zfstm.snapshots.memory import forget as forget_listings
from zfstm.snapshots.model import DatasetState, after_taking
from zfstm.snapshots.reader import listings
from zfstm.snapshots.tags import SNAPSHOT_PROPERTIES, STANDS_UNTIL
from zfstm.timemachine.detector import DetectorSettings
from zfstm.timemachine.knowngood import HoldAction, HoldStep
from zfstm.timemachine.timefmt import format_utc
from zfstm.volume.detector import VolumeLook
from zfstm.zfs import DatasetName, DestroyReport, HoldTag, SnapshotName, SnapshotProperty, ZfsBackend
from zfstm.zfs.types import DatasetListing

log = logging.getLogger("zfstm.lifecycle")

T = TypeVar("T")
R = TypeVar("R")


@contextlib.contextmanager
def target_locks(targets: Sequence[Target], run_dir: Path) -> Iterator[tuple[list[Target], list[str]]]:
    """Lock each target (sorted, without waiting); yield the locked ones and the names of the busy ones."""
    held: list[HeldLock] = []
    locked: list[Target] = []
    busy: list[str] = []
    try:
        for target in sorted(targets, key=lambda t: t.name):
            try:
                held.append(acquire(target.name, run_dir))
            except BusyError as exc:
                log.warning("%s", exc)
                busy.append(target.name)
                continue
            locked.append(target)
        yield locked, busy
    finally:
        for lock in held:
            lock.release()


def _fail(target: str, step: str, exc: Exception) -> Failure:
    """The failure of one target's step; an exception zfstm did not expect is reported as an internal error."""
    if isinstance(exc, ZfstmError):
        log.error("%s: %s failed: %s", target, step, exc)
        return Failure(target, step, str(exc), exc.exit_code, fatal=isinstance(exc, NOT_FIXED_BY_RESTART))
    message = f"internal error {type(exc).__name__}: {exc}"
    log.error("%s: %s failed: %s", target, step, message, exc_info=log.isEnabledFor(logging.DEBUG))
    return Failure(target, step, message, InternalError.exit_code)


def isolated(
    items: Sequence[T], decide: Callable[[list[T]], R], owner: Callable[[T], str], step: str, failures: list[Failure]
) -> tuple[R, list[T]]:
    """``decide(items)``; when it raises, each item alone finds the ones it fails on, which become failures."""
    try:
        return decide(list(items)), list(items)
    except Exception:  # any bug tripped by one target's data must not stop the others
        log.debug("%s failed over all targets; retrying target by target", step)
    kept: list[T] = []
    for item in items:
        try:
            decide([item])
        except Exception as exc:
            failures.append(_fail(owner(item), step, exc))
            continue
        kept.append(item)
    return decide(kept), kept


def run_tick(
    config: Config,
    targets: Sequence[Target],
    backend: ZfsBackend,
    now: datetime,
    *,
    run_dir: Path,
    state_dir: Path | None,
    dry_run: bool = False,
    manual: bool = False,
    force: bool = False,
    prune: bool = True,
    snapshot: bool = True,
    locking: bool = True,
    sessions: SessionCounter = count_sessions,
    session_ends: Mapping[str, datetime] | None = None,
    memory: Memory | None = None,
) -> TickReport:
    """One tick over ``targets`` (see the module docstring for the order).

    ``session_ends`` (target name -> the last session end an event reported, from the daemon's zfstm.events) lets
    the detector call a backup finished when its session ends instead of after the quiet period.
    ``snapshot=False`` is `zfstm prune`: the same locks, observation, upkeep plan, safety checks and CNID lockstep,
    without taking or marking snapshots (so the decisions are the tick's over the same snapshots), and without
    remembering ``written`` (the next tick's activity judgement stays the tick's own). ``locking=False`` is for a
    dry run that must not wait for or block anyone (`zfstm plan`). ``memory`` (`zfstm run` and the daemon) lists only
    the datasets whose snapshots changed since an earlier tick (zfstm.snapshots.memory); it is saved at the end."""
    locks: contextlib.AbstractContextManager[tuple[list[Target], list[str]]] = (
        target_locks(targets, run_dir) if locking else contextlib.nullcontext((list(targets), []))
    )
    laps = _Laps()
    with locks as (locked, busy):
        laps.lap("lock")
        failures: list[Failure] = []
        observations: list[TargetObservation] = []
        listed = listing_of(backend, config, locked, memory=memory)
        for target in locked:
            try:
                seen = observe(backend, config, target, state_dir=state_dir, sessions=sessions, listed=listed)
                ended = (session_ends or {}).get(target.name)
                observations.append(attrs.evolve(seen, session_end=ended) if ended is not None else seen)
            except Exception as exc:  # reported for this target; the others go on
                failures.append(_fail(target.name, "observe", exc))
        laps.lap("observe")
        plan, observations = isolated(
            observations,
            lambda obs: plan_tick(config, obs, now, manual=manual, snapshot=snapshot),
            _name,
            "plan",
            failures,
        )
        if dry_run:
            return TickReport(
                plan, True, prune=prune, busy=tuple(busy), failures=tuple(failures), states=_observed(observations)
            )
        run = _Run(config, backend, failures, memory=memory)
        changes = snapshot and bool(plan.batches or plan.stands_until)
        if changes or _acts(plan):  # a tick killed half way must leave no remembered listing behind
            forget_listings(state_dir)
        if changes:
            run.take_snapshots(plan)
            laps.lap("snapshot")
            current, states = run.relist(observations)
            laps.lap("relist")
            (upkeep, cnids), current = isolated(
                current, lambda obs: plan_upkeep(config, obs, states, now), _name, "plan upkeep", run.failures
            )
        else:  # nothing created or marked: the observation is the state and the plan's upkeep was planned over it
            states, upkeep, cnids = _observed(observations), plan.upkeep, plan.cnid
        if snapshot:
            for obs in observations:
                remember_written(state_dir, obs.target.name, _looked(obs, states, run.taken), now, volume=_volume(obs))
        run.upkeep(upkeep, cnids, force=force, prune=prune)
        if memory is not None:
            memory.touch(d.full for f in run.failures for d in _datasets_of(locked, f.target))
            memory.save()
        laps.lap("upkeep")
        return TickReport(
            attrs.evolve(plan, upkeep=upkeep, cnid=cnids),
            False,
            snapshots=tuple(run.taken),
            prune=prune,
            busy=tuple(busy),
            failures=tuple(run.failures),
            refusals=tuple(run.refusals),
            destroyed=tuple(report for report in run.reports if report.results),
            states=states,
            stages=laps.stages,
        )


def _acts(plan: TickPlan) -> bool:
    """True when the plan's upkeep would hold, release or destroy anything."""
    return any(item.destroy or item.hold.steps for item in plan.upkeep) or any(
        cnid.destroy or cnid.steps for cnid in plan.cnid
    )


def _datasets_of(targets: Sequence[Target], name: str) -> list[DatasetName]:
    """The datasets of the target called ``name`` (its share's and CNID dataset), or the dataset so named."""
    for target in targets:
        if name in {target.name, target.dataset.full}:
            return [d for d in (target.dataset, target.cnid_dataset) if d is not None]
    return []


class _Laps:
    """Where a tick's time goes: seconds per stage, for the daemon's log line (latency work, docs/events.md)."""

    def __init__(self) -> None:
        self.mark = time.monotonic()
        self.laps: list[tuple[str, float]] = []

    def lap(self, stage: str) -> None:
        now = time.monotonic()
        self.laps.append((stage, now - self.mark))
        self.mark = now

    @property
    def stages(self) -> tuple[tuple[str, float], ...]:
        return tuple(self.laps)


def _volume(obs: TargetObservation) -> tuple[VolumeLook, DetectorSettings] | None:
    return (obs.volume, obs.target.detector) if obs.volume is not None else None


def _observed(observations: Sequence[TargetObservation]) -> dict[str, DatasetState]:
    """The observed datasets' states by name (the share's and its CNID dataset's)."""
    return {state.dataset.full: state for obs in observations for state in (obs.data, obs.cnid) if state is not None}


def _name(obs: TargetObservation) -> str:
    return obs.target.name


def _looked(obs: TargetObservation, states: dict[str, DatasetState], taken: Sequence[str]) -> DatasetState:
    """The state to remember: after a snapshot of the target, ``written`` starts again from 0 at the new one."""
    fresh = states.get(obs.target.dataset.full)
    if fresh is None or not any(name.startswith(obs.target.dataset.full + "@") for name in taken):
        return obs.data
    return attrs.evolve(fresh, written=0)


@attrs.define
class _Run:
    """The acting part of one tick, collecting what happened."""

    config: Config
    backend: ZfsBackend
    failures: list[Failure]
    taken: list[str] = attrs.Factory(list)
    #: The user properties set without error in this tick, per snapshot (all of a new one's; a stands-until mark).
    set_now: dict[SnapshotName, dict[str, str]] = attrs.Factory(dict)
    refusals: list[Failure] = attrs.Factory(list)
    reports: list[DestroyReport] = attrs.Factory(list)
    memory: Memory | None = None

    def _touch(self, names: Iterable[SnapshotName]) -> None:
        if self.memory is not None:
            self.memory.touch(name.dataset.full for name in names)

    def take_snapshots(self, plan: TickPlan) -> None:
        """One atomic call per batch, then the properties that differ per snapshot, then stands-until marks."""
        for batch in plan.batches:
            self._touch(batch.names)
            try:
                self.backend.snapshot(batch.names, batch.common)
            except Exception as exc:  # this target's failure, not the tick's
                self.failures.extend(_fail(name, "snapshot", exc) for name in batch.targets)
                continue
            self.taken.extend(name.full for name in batch.names)
            self.set_now.update((name, dict(batch.common or {})) for name in batch.names)
            log.info("snapshot %s (one atomic call)", ", ".join(name.full for name in batch.names))
            for name, extra in batch.extra:
                for key, value in extra.items():
                    self._set(name, key, value)
        for mark in plan.stands_until:
            self._set(mark.snapshot, STANDS_UNTIL, format_utc(mark.until))

    def _set(self, name: SnapshotName, key: str, value: str) -> None:
        self._touch([name])
        try:
            self.backend.set_property(name, key, value)
        except Exception as exc:  # this target's failure, not the tick's
            self.failures.append(_fail(name.dataset.full, f"set {key} on {name.short}", exc))
            return
        self.set_now.setdefault(name, {})[key] = value

    def relist(
        self, observations: Sequence[TargetObservation]
    ) -> tuple[list[TargetObservation], dict[str, DatasetState]]:
        """The state of every dataset the upkeep touches after this tick's snapshots and marks: one fast listing per
        pool confirms what exists (:func:`~zfstm.snapshots.model.after_taking`); a target where that does not add
        up is read again in full (one batch per pool); a target that cannot be listed is skipped."""
        naming, adopted = self.config.naming.scheme, self.config.naming.adopted
        datasets = [s.dataset for obs in observations for s in (obs.data, obs.cnid) if s is not None]
        fast = listings(self.backend, datasets)
        states: dict[str, DatasetState] = {}
        again: list[TargetObservation] = []
        for obs in observations:
            mine: dict[str, DatasetState | None] = {}
            for state in (obs.data, obs.cnid):
                if state is not None:
                    listing = fast.get(state.dataset.full)
                    mine[state.dataset.full] = (
                        after_taking(state, listing, self.set_now, naming=naming, adopted=adopted)
                        if isinstance(listing, DatasetListing)
                        else None
                    )
            if any(value is None for value in mine.values()):
                again.append(obs)
            else:
                states.update((name, value) for name, value in mine.items() if value is not None)
        if not again:
            return list(observations), states
        redo = {id(obs) for obs in again}
        listed = listing_of(self.backend, self.config, [obs.target for obs in again], written=False)
        current: list[TargetObservation] = []
        for obs in observations:
            target = obs.target
            if id(obs) not in redo:
                current.append(obs)
                continue
            found = {d.full: listed.get(d.full) for d in (target.dataset, target.cnid_dataset) if d is not None}
            error = next((value for value in found.values() if not isinstance(value, DatasetState)), None)
            if error is not None:  # this target's failure, not the tick's
                exc = error if isinstance(error, Exception) else InternalError("not listed")
                self.failures.append(_fail(target.name, "list snapshots", exc))
                continue
            states.update((name, value) for name, value in found.items() if isinstance(value, DatasetState))
            current.append(obs)
        return current, states

    def upkeep(self, upkeep: Sequence[TargetUpkeep], cnids: Sequence[CnidUpkeep], *, force: bool, prune: bool) -> None:
        """Per target: hold steps, then (if they all worked) retention after its safety check; then CNID datasets.

        Without ``prune`` (``zfstm snapshot``) only the known-good holds move; nothing is destroyed."""
        fresh: list[TargetUpkeep] = []
        planned: dict[str, tuple[str, ...]] = {}
        gone: set[str] = set()
        jobs: list[tuple[str, Sequence[str]]] = []
        for item in upkeep:
            planned[item.retention.dataset] = item.destroy
            self._touch(SnapshotName.parse(step.snapshot) for step in item.hold.steps)
            if not _run_hold_steps(self.backend, item.target, item.hold.steps, self.failures):
                continue
            if item.known_good is not None and any(step.action is HoldAction.HOLD for step in item.hold.steps):
                fresh.append(item)
            if not prune:
                continue
            refusal = item.retention.refusal(force=force)
            if refusal is not None:
                log.error("%s: %s", item.target, refusal)
                self.refusals.append(Failure(item.target, "prune", str(refusal), refusal.exit_code))
                continue
            jobs.append((item.target, item.destroy))
        for report in _destroy_all(self.backend, self.confirm(jobs), self.failures):
            gone.update(name.full for name in (*report.destroyed, *report.not_found))
            self.reports.append(report)
        jobs = []
        for cnid in cnids:
            # A CNID snapshot goes only with its partners' snapshots of the same name: not when a partner's prune was
            # refused, failed or had a name refused by ZFS (the share's snapshot stays, so its CNID twin must too).
            standing = {
                SnapshotName.parse(name).short
                for partner in cnid.partners
                for name in planned.get(partner, ())
                if name not in gone
            }
            destroy = [name for name in cnid.destroy if SnapshotName.parse(name).short not in standing]
            self._touch(SnapshotName.parse(step.snapshot) for step in cnid.steps)
            if _run_hold_steps(self.backend, cnid.dataset, cnid.steps, self.failures) and prune:
                jobs.append((cnid.dataset, destroy))
        self.reports.extend(_destroy_all(self.backend, self.confirm(jobs), self.failures))
        for item in fresh:  # last: the snapshot is held and the CNID twin tagged before anything is woken
            assert item.known_good is not None
            name = SnapshotName.parse(item.known_good)
            run_after_known_good(self.config.hooks, target=item.target, dataset=name.dataset.full, snapshot=name.full)

    def confirm(self, jobs: Sequence[tuple[str, Sequence[str]]]) -> list[tuple[str, Sequence[str]]]:
        """``jobs`` without the snapshots that are no longer as a remembered listing showed them.

        Each snapshot to destroy from a recalled listing (zfstm.snapshots.memory) is read again by name (one ``zfs
        get``): one that is gone, was replaced, carries a hold now or whose ``zfstm:*`` properties changed is kept
        this tick and its dataset is listed again at the next. When that read fails, all of them are kept."""
        names = [SnapshotName.parse(name) for _, job in jobs for name in job]
        self._touch(names)
        memory = self.memory
        doomed = [name for name in names if memory is not None and name.dataset.full in memory.recalled]
        if memory is None or not doomed:
            return list(jobs)
        try:
            fresh = self.backend.snapshot_infos(doomed, (SnapshotProperty.USERREFS,), SNAPSHOT_PROPERTIES)
            held = [name for name, info in fresh.items() if info.userrefs]
            holds = self.backend.holds_of(held) if held else {}
        except Exception as exc:  # keep them all: the next tick decides on a fresh listing
            log.warning(
                "cannot read again the %d snapshot(s) to destroy (%s); keeping them this tick", len(doomed), exc
            )
            stale = set(doomed)
        else:
            remembered = {
                info.name: info
                for dataset in {name.dataset.full for name in doomed}
                for info in memory.recalled[dataset].listing.snapshots
            }
            stale = {
                name
                for name in doomed
                if name not in remembered
                or not unchanged(remembered[name], fresh.get(name), frozenset(holds.get(name, {})))
            }
        for name in sorted(stale, key=lambda n: n.full):
            log.warning(
                "%s: not destroyed: it changed since zfstm last listed %s (gone, replaced, held or its zfstm "
                "properties edited); the dataset is listed again at the next tick",
                name.full,
                name.dataset.full,
            )
        return [(owner, [name for name in job if SnapshotName.parse(name) not in stale]) for owner, job in jobs]


def _run_hold_steps(backend: ZfsBackend, owner: str, steps: Sequence[HoldStep], failures: list[Failure]) -> bool:
    """Run hold/release steps in order; stop at the first failure (a release must never run before its hold)."""
    for step in steps:
        name = SnapshotName.parse(step.snapshot)
        try:
            if step.action is HoldAction.HOLD:
                backend.hold([name], HoldTag(step.tag))
            else:
                backend.release([name], HoldTag(step.tag))
        except (HoldExists, HoldNotFound) as exc:  # already as the step wants it (a listing older than the hold)
            log.info("%s: %s %s on %s: already done (%s)", owner, step.action.value, step.tag, step.snapshot, exc)
            continue
        except Exception as exc:  # this target's failure, not the tick's
            failures.append(_fail(owner, f"{step.action.value} {step.snapshot}", exc))
            return False
        log.info("%s: %s %s on %s", owner, step.action.value, step.tag, step.snapshot)
    return True


def _destroy_all(
    backend: ZfsBackend, jobs: Sequence[tuple[str, Sequence[str]]], failures: list[Failure]
) -> list[DestroyReport]:
    """Every owner's destroys in one ``destroy_snapshots`` call (the backend batches per pool), one report per owner.

    When that call raises (or a name does not parse), each owner's destroy runs alone, so one owner's trouble stays
    its own."""
    if sum(len(names) for _, names in jobs) == 0:
        return [DestroyReport(()) for _ in jobs]
    try:
        report = backend.destroy_snapshots([SnapshotName.parse(name) for _, names in jobs for name in names])
    except Exception as exc:  # find out whose, below
        log.debug("one batched destroy failed (%s); destroying owner by owner", exc)
        return [_destroy(backend, owner, names, failures) for owner, names in jobs]
    by_name = {result.name.full: result for result in report.results}
    reports = []
    for owner, names in jobs:
        part = DestroyReport(tuple(by_name[name] for name in dict.fromkeys(names)))
        if part.results:
            log.info("%s: destroyed %d snapshot(s), %d refused", owner, len(part.destroyed), len(part.refused))
        reports.append(part)
    return reports


def _destroy(backend: ZfsBackend, owner: str, names: Sequence[str], failures: list[Failure]) -> DestroyReport:
    if not names:
        return DestroyReport(())
    try:
        report = backend.destroy_snapshots([SnapshotName.parse(name) for name in names])
    except Exception as exc:  # this target's failure, not the tick's
        failures.append(_fail(owner, "prune", exc))
        return DestroyReport(())
    log.info("%s: destroyed %d snapshot(s), %d refused", owner, len(report.destroyed), len(report.refused))
    return report
