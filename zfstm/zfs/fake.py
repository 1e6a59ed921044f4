"""An in-memory ZFS for fast tests of everything above the backend layer.

It models only what zfstm relies on: datasets with properties, snapshots in creation order with guid/createtxg,
holds, clones and promotion, and the refusals ZFS makes (held, cloned, exists, missing, not latest, no
permission). It is trusted only because the contract suite (tests/contract/) runs the same assertions on it and on
the real lzc and CLI backends; behaviour not covered there should not be relied on.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime

import attrs

from zfstm.errors import (
    DatasetBusy,
    DatasetExists,
    DatasetNotFound,
    HoldExists,
    HoldNotFound,
    InvalidName,
    PoolsDiffer,
    SnapshotCloned,
    SnapshotExists,
    ZfsError,
    ZfsPermissionDenied,
)
from zfstm.zfs import checks
from zfstm.zfs.backend import N
from zfstm.zfs.destroy import Refusals, destroy_in_rounds, group_by
from zfstm.zfs.names import DatasetName, HoldTag, SnapshotName, ZfsName, validate_user_property
from zfstm.zfs.rollback import rollback_procedure
from zfstm.zfs.types import DatasetListing, DestroyOutcome, DestroyReport, DestroyResult, SnapshotInfo, SnapshotProperty

#: Native properties the fake knows; others (without ':') are refused like ZFS refuses unknown properties.
NATIVE_PROPERTIES = frozenset(
    {
        "type",
        "origin",
        "mountpoint",
        "mounted",
        "canmount",
        "compression",
        "readonly",
        "atime",
        "quota",
        "refquota",
        "creation",
        "createtxg",
        "guid",
        "used",
        "available",
        "referenced",
        "written",
        "userrefs",
        "clones",
        "snapshots_changed",
    }
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@attrs.define
class _Snapshot:
    guid: int
    createtxg: int
    creation: datetime
    data: str  # the dataset's contents when taken (tests write it through FakeState.datasets)
    holds: dict[str, datetime] = attrs.Factory(dict)
    user_props: dict[str, str] = attrs.Factory(dict)
    clones: set[str] = attrs.Factory(set)


@attrs.define
class _Dataset:
    props: dict[str, str] = attrs.Factory(dict)
    snapshots: dict[str, _Snapshot] = attrs.Factory(dict)  # insertion order = creation order
    origin: SnapshotName | None = None
    data: str = ""


@attrs.define
class FakeState:
    """The shared model: several FakeBackend views (privileged or not) can look at one state."""

    datasets: dict[str, _Dataset] = attrs.Factory(dict)
    txg: dict[str, int] = attrs.Factory(dict)
    guids: Iterator[int] = attrs.Factory(lambda: itertools.count(0x1000_0000_0000_0001, 7919))

    def next_guid(self) -> int:
        return next(self.guids)


@attrs.define
class FakeBackend:
    """ZfsBackend over a FakeState. ``privileged=False`` behaves like a user without delegated permissions."""

    state: FakeState = attrs.Factory(FakeState)
    pools: Sequence[str] = ("tank",)
    privileged: bool = True
    clock: Callable[[], datetime] = _utc_now
    kind: str = "fake"

    def __attrs_post_init__(self) -> None:
        for pool in self.pools:
            DatasetName(pool)
            self.state.datasets.setdefault(pool, _Dataset(props={"mountpoint": f"/{pool}"}))
            self.state.txg.setdefault(pool, 1)

    def unprivileged(self) -> FakeBackend:
        """A view of the same state as a user without any ``zfs allow`` delegation."""
        return FakeBackend(self.state, self.pools, privileged=False, clock=self.clock)

    def write_contents(self, dataset: DatasetName, contents: str) -> None:
        """Replace the modelled contents of a filesystem (what its files would hold)."""
        self._dataset(dataset, "write").data = contents

    def read_contents(self, dataset: DatasetName) -> str:
        """The modelled contents of a filesystem: restored by rollback, copied by snapshot and clone."""
        return self._dataset(dataset, "read").data

    # -- helpers -------------------------------------------------------------------------------------------------

    def _require_permission(self, operation: str, name: str) -> None:
        if not self.privileged:
            raise ZfsPermissionDenied(
                "permission denied; run as root or delegate with 'zfs allow'", dataset=name, operation=operation
            )

    def _dataset(self, name: DatasetName, operation: str) -> _Dataset:
        found = self.state.datasets.get(name.full)
        if found is None:
            raise DatasetNotFound("dataset does not exist", dataset=name.full, operation=operation)
        return found

    def _snap(self, name: SnapshotName, operation: str) -> _Snapshot:
        dataset = self.state.datasets.get(name.dataset.full)
        snap = dataset.snapshots.get(name.short) if dataset else None
        if snap is None:
            raise DatasetNotFound("snapshot does not exist", dataset=name.full, operation=operation)
        return snap

    def _tick(self, pool: str) -> int:
        self.state.txg[pool] = self.state.txg.get(pool, 1) + 1
        return self.state.txg[pool]

    def _children(self, name: str) -> list[str]:
        return [other for other in self.state.datasets if other.startswith(name + "/")]

    # -- snapshots -----------------------------------------------------------------------------------------------

    def snapshot(self, names: Iterable[SnapshotName], user_props: Mapping[str, str] | None = None) -> None:
        """See ZfsBackend.snapshot."""
        batch = checks.atomic_snapshot_batch(names, user_props)
        self._require_permission("snapshot", batch[0].full)
        for name in batch:
            dataset = self._dataset(name.dataset, "snapshot")
            if name.short in dataset.snapshots:
                raise SnapshotExists("snapshot already exists", dataset=name.full, operation="snapshot")
        txg = self._tick(batch[0].pool)
        now = self.clock()
        for name in batch:
            dataset = self.state.datasets[name.dataset.full]
            dataset.snapshots[name.short] = _Snapshot(
                guid=self.state.next_guid(),
                createtxg=txg,
                creation=now,
                data=dataset.data,
                user_props=dict(user_props or {}),
            )

    def destroy_snapshots(self, names: Iterable[SnapshotName]) -> DestroyReport:
        """See ZfsBackend.destroy_snapshots."""
        ordered = list(dict.fromkeys(names))
        results: dict[SnapshotName, DestroyResult] = {}
        for group in group_by(ordered, lambda n: n.pool).values():
            present = [n for n in group if self.exists(n)]
            results.update((n, DestroyResult(n, DestroyOutcome.NOT_FOUND)) for n in group if n not in present)
            if present:
                self._require_permission("destroy", present[0].full)
                results.update(destroy_in_rounds(present, self._destroy_attempt))
        return DestroyReport(tuple(results[n] for n in ordered))

    def _destroy_attempt(self, batch: Sequence[SnapshotName]) -> Refusals:
        refused: dict[SnapshotName, tuple[DestroyOutcome, str]] = {}
        for name in batch:
            snap = self._snap(name, "destroy")
            if snap.holds:
                refused[name] = (DestroyOutcome.HELD, "dataset is busy (held: " + ", ".join(sorted(snap.holds)) + ")")
            elif snap.clones:
                refused[name] = (DestroyOutcome.CLONED, "snapshot is cloned (" + ", ".join(sorted(snap.clones)) + ")")
        if not refused:
            self._tick(batch[0].pool)
            for name in batch:
                del self.state.datasets[name.dataset.full].snapshots[name.short]
        return refused

    def hold(self, snapshots: Iterable[SnapshotName], tag: HoldTag) -> None:
        """See ZfsBackend.hold."""
        batch = checks.same_pool(snapshots, "hold")
        if not batch:
            return
        self._require_permission("hold", batch[0].full)
        snaps = [self._snap(name, "hold") for name in batch]
        for name, snap in zip(batch, snaps, strict=True):
            if tag.value in snap.holds:
                raise HoldExists(f"tag {tag} already exists on this snapshot", dataset=name.full, operation="hold")
        now = self.clock()
        for snap in snaps:
            snap.holds[tag.value] = now

    def release(self, snapshots: Iterable[SnapshotName], tag: HoldTag) -> None:
        """See ZfsBackend.release."""
        batch = checks.same_pool(snapshots, "release")
        if not batch:
            return
        self._require_permission("release", batch[0].full)
        snaps = [self._snap(name, "release") for name in batch]
        for name, snap in zip(batch, snaps, strict=True):
            if tag.value not in snap.holds:
                raise HoldNotFound(f"no hold with tag {tag} on this snapshot", dataset=name.full, operation="release")
        for snap in snaps:
            del snap.holds[tag.value]

    def holds(self, snapshot: SnapshotName) -> dict[str, datetime]:
        """See ZfsBackend.holds."""
        return dict(self._snap(snapshot, "holds").holds)

    def rollback_to(self, snapshot: SnapshotName, *, destroy_newer: bool = False) -> DestroyReport:
        """See ZfsBackend.rollback_to."""
        self._dataset(snapshot.dataset, "rollback")

        def rollback() -> None:
            self._require_permission("rollback", snapshot.full)
            dataset = self._dataset(snapshot.dataset, "rollback")
            dataset.data = self._snap(snapshot, "rollback").data

        def destroy_all(names: Sequence[SnapshotName]) -> Refusals:
            self._require_permission("rollback", snapshot.full)
            return self._destroy_attempt(names)

        return rollback_procedure(
            snapshot,
            destroy_newer=destroy_newer,
            list_snapshots=lambda: self.list_snapshots(snapshot.dataset),
            destroy_all=destroy_all,
            rollback=rollback,
        )

    def list_snapshots(
        self,
        dataset: DatasetName,
        properties: Iterable[SnapshotProperty] = (),
        user_props: Iterable[str] = (),
    ) -> list[SnapshotInfo]:
        """See ZfsBackend.list_snapshots."""
        wanted = set(properties)
        wanted_user = list(user_props)
        for prop in wanted_user:
            validate_user_property(prop)
        found = self._dataset(dataset, "list")
        infos = []
        for short, snap in sorted(found.snapshots.items(), key=lambda item: item[1].createtxg):
            infos.append(
                SnapshotInfo(
                    name=dataset.snapshot(short),
                    guid=snap.guid,
                    createtxg=snap.createtxg,
                    creation=snap.creation.replace(microsecond=0) if SnapshotProperty.CREATION in wanted else None,
                    used=0 if SnapshotProperty.USED in wanted else None,
                    referenced=(len(snap.data) + 1) * 512 if SnapshotProperty.REFERENCED in wanted else None,
                    written=4096 if SnapshotProperty.WRITTEN in wanted else None,
                    userrefs=len(snap.holds) if SnapshotProperty.USERREFS in wanted else None,
                    user_props={p: snap.user_props[p] for p in wanted_user if p in snap.user_props},
                )
            )
        return infos

    def list_datasets(
        self,
        datasets: Sequence[DatasetName],
        properties: Iterable[SnapshotProperty] = (),
        user_props: Iterable[str] = (),
        dataset_props: Iterable[str] = (),
    ) -> dict[str, DatasetListing]:
        """See ZfsBackend.list_datasets. The fake keeps no bookmarks."""
        wanted, wanted_user, own = list(properties), list(user_props), list(dataset_props)
        return {
            dataset.full: DatasetListing(
                dataset,
                tuple(self.list_snapshots(dataset, wanted, wanted_user)),
                (),
                self.get_properties(dataset, own),
            )
            for dataset in dict.fromkeys(datasets)
        }

    def dataset_properties(
        self, datasets: Sequence[DatasetName], props: Iterable[str]
    ) -> dict[str, dict[str, str | None]]:
        """See ZfsBackend.dataset_properties."""
        wanted = list(props)
        return {dataset.full: self.get_properties(dataset, wanted) for dataset in dict.fromkeys(datasets)}

    def snapshot_infos(
        self,
        snapshots: Sequence[SnapshotName],
        properties: Iterable[SnapshotProperty] = (),
        user_props: Iterable[str] = (),
    ) -> dict[SnapshotName, SnapshotInfo]:
        """See ZfsBackend.snapshot_infos."""
        wanted, wanted_user = list(properties), list(user_props)
        found: dict[SnapshotName, SnapshotInfo] = {}
        for dataset, names in group_by(list(dict.fromkeys(snapshots)), lambda n: n.dataset.full).items():
            if dataset not in self.state.datasets:
                continue
            listed = {info.name: info for info in self.list_snapshots(names[0].dataset, wanted, wanted_user)}
            found.update((name, listed[name]) for name in names if name in listed)
        return found

    def holds_of(self, snapshots: Sequence[SnapshotName]) -> dict[SnapshotName, dict[str, datetime]]:
        """See ZfsBackend.holds_of."""
        return {name: self.holds(name) for name in dict.fromkeys(snapshots)}

    # -- properties ----------------------------------------------------------------------------------------------

    def _props_of(self, name: ZfsName, operation: str) -> dict[str, str]:
        if isinstance(name, SnapshotName):
            snap = self._snap(name, operation)
            return {
                "type": "snapshot",
                "guid": str(snap.guid),
                "createtxg": str(snap.createtxg),
                "creation": str(int(snap.creation.timestamp())),
                "userrefs": str(len(snap.holds)),
                "clones": ",".join(sorted(snap.clones)),
                **snap.user_props,
            }
        dataset = self._dataset(name, operation)
        props = {"type": "filesystem", "mounted": "yes", "canmount": "on", **dataset.props}
        # Not a time as in ZFS but a number that moves whenever the set of snapshots does (zfstm.snapshots.memory).
        fingerprint = hashlib.sha256(repr(sorted((s, v.guid) for s, v in dataset.snapshots.items())).encode())
        props["snapshots_changed"] = str(int(fingerprint.hexdigest()[:12], 16) % 10**9)
        props.setdefault("mountpoint", "/" + name.full)
        if dataset.origin is not None:
            props["origin"] = dataset.origin.full
        return props

    def get_properties(self, name: ZfsName, props: Iterable[str]) -> dict[str, str | None]:
        """See ZfsBackend.get_properties."""
        wanted = list(props)
        for prop in wanted:
            if ":" in prop:
                validate_user_property(prop)
            elif prop not in NATIVE_PROPERTIES:
                raise InvalidName(f"invalid property {prop!r}", dataset=name.full, operation="get")
        values = self._props_of(name, "get")
        return {prop: (values.get(prop) or None) for prop in wanted}

    def set_property(self, name: ZfsName, prop: str, value: str) -> None:
        """See ZfsBackend.set_property."""
        if ":" in prop:
            validate_user_property(prop)
        elif prop not in NATIVE_PROPERTIES or isinstance(name, SnapshotName):
            raise InvalidName(f"property {prop!r} cannot be set here", dataset=name.full, operation="set")
        self._props_of(name, "set")
        self._require_permission("set", name.full)
        if isinstance(name, SnapshotName):
            self._snap(name, "set").user_props[prop] = value
        else:
            self._dataset(name, "set").props[prop] = value

    def local_properties(self, dataset: DatasetName) -> dict[str, str]:
        """See ZfsBackend.local_properties: what was set on the dataset (create, clone, set_property)."""
        return dict(self._dataset(dataset, "get").props)

    # -- space ---------------------------------------------------------------------------------------------------

    def reclaimable_space(self, snapshots: Sequence[SnapshotName]) -> int | None:
        """See ZfsBackend.reclaimable_space. The fake keeps no block accounting (every snapshot's ``used`` is 0),
        so it cannot tell: None, or 0 when none of the names exists. Missing datasets and clones refuse as in ZFS."""
        names = list(dict.fromkeys(snapshots))
        for name in names:
            self._dataset(name.dataset, "reclaim")
        present = [name for name in names if self.exists(name)]
        for name in present:
            if self._snap(name, "reclaim").clones:
                raise SnapshotCloned("snapshot has dependent clones", dataset=name.full, operation="reclaim")
        return None if present else 0

    # -- datasets ------------------------------------------------------------------------------------------------

    def _check_new_dataset(self, name: DatasetName, operation: str) -> None:
        if name.full in self.state.datasets:
            raise DatasetExists("dataset already exists", dataset=name.full, operation=operation)
        parent = name.parent
        if parent is None:
            raise ZfsError("a pool's root dataset cannot be created here", dataset=name.full, operation=operation)
        if parent.full not in self.state.datasets:
            raise DatasetNotFound(f"parent {parent} does not exist", dataset=name.full, operation=operation)

    def create_filesystem(self, name: DatasetName, props: Mapping[str, str] | None = None) -> None:
        """See ZfsBackend.create_filesystem."""
        self._require_permission("create", name.full)
        self._check_new_dataset(name, "create")
        self.state.datasets[name.full] = _Dataset(props=dict(props or {}))
        self._tick(name.pool)

    def create_volume(self, name: DatasetName, size: int, props: Mapping[str, str] | None = None) -> None:
        """See ZfsBackend.create_volume (a volume is a dataset with a volsize here)."""
        self.create_filesystem(name, {**(props or {}), "volsize": str(size)})

    def clone(self, snapshot: SnapshotName, target: DatasetName, props: Mapping[str, str] | None = None) -> None:
        """See ZfsBackend.clone."""
        snap = self._snap(snapshot, "clone")
        if snapshot.pool != target.pool:
            raise PoolsDiffer("a clone must be in the pool of its snapshot", dataset=target.full, operation="clone")
        self._require_permission("clone", target.full)
        self._check_new_dataset(target, "clone")
        self.state.datasets[target.full] = _Dataset(props=dict(props or {}), origin=snapshot, data=snap.data)
        snap.clones.add(target.full)
        self._tick(target.pool)

    def promote(self, dataset: DatasetName) -> None:
        """See ZfsBackend.promote."""
        clone = self._dataset(dataset, "promote")
        self._require_permission("promote", dataset.full)
        origin = clone.origin
        if origin is None:
            raise ZfsError("not a cloned filesystem", dataset=dataset.full, operation="promote")
        source = self._dataset(origin.dataset, "promote")
        limit = source.snapshots[origin.short].createtxg
        moving = {s: snap for s, snap in source.snapshots.items() if snap.createtxg <= limit}
        for short in moving:
            if short in clone.snapshots:
                raise SnapshotExists(
                    f"snapshot name {short!r} exists on both {origin.dataset} and {dataset}; rename one first",
                    dataset=dataset.full,
                    operation="promote",
                )
        for short, snap in moving.items():
            del source.snapshots[short]
            for other in snap.clones:
                if other != dataset.full:
                    self.state.datasets[other].origin = dataset.snapshot(short)
        moved = dict(moving)
        moved[origin.short].clones = {origin.dataset.full} | (moved[origin.short].clones - {dataset.full})
        clone.snapshots = {**moved, **clone.snapshots}
        clone.origin, source.origin = source.origin, dataset.snapshot(origin.short)
        if clone.origin is not None:
            older = self._snap(clone.origin, "promote")
            older.clones = (older.clones - {origin.dataset.full}) | {dataset.full}
        self._tick(dataset.pool)

    def rename(self, old: N, new: N) -> None:
        """See ZfsBackend.rename."""
        if isinstance(old, SnapshotName) and isinstance(new, SnapshotName):
            self._rename_snapshot(old, new)
        elif isinstance(old, DatasetName) and isinstance(new, DatasetName):
            self._rename_dataset(old, new)
        else:  # pragma: no cover - the type checker forbids mixing
            raise InvalidName("rename needs two dataset names or two snapshot names", dataset=old.full)

    def _rename_snapshot(self, old: SnapshotName, new: SnapshotName) -> None:
        if old.dataset != new.dataset:
            raise InvalidName("a snapshot can only be renamed within its dataset", dataset=old.full, operation="rename")
        snap = self._snap(old, "rename")
        self._require_permission("rename", old.full)
        dataset = self.state.datasets[old.dataset.full]
        if new.short in dataset.snapshots:
            raise SnapshotExists("snapshot already exists", dataset=new.full, operation="rename")
        dataset.snapshots = {(new.short if s == old.short else s): v for s, v in dataset.snapshots.items()}
        for other in snap.clones:
            self.state.datasets[other].origin = new

    def _rename_dataset(self, old: DatasetName, new: DatasetName) -> None:
        self._dataset(old, "rename")
        if old.pool != new.pool:
            raise PoolsDiffer("datasets cannot be renamed across pools", dataset=old.full, operation="rename")
        if old.parent is None:
            raise ZfsError("a pool's root dataset cannot be renamed", dataset=old.full, operation="rename")
        if old.is_ancestor_of(new):
            raise InvalidName("a dataset cannot be moved below itself", dataset=old.full, operation="rename")
        self._require_permission("rename", old.full)
        self._check_new_dataset(new, "rename")
        moves = [old.full, *self._children(old.full)]
        for name in moves:
            renamed = new.full + name[len(old.full) :]
            self.state.datasets[renamed] = self.state.datasets.pop(name)
        for dataset in self.state.datasets.values():
            origin = dataset.origin
            if origin is not None and (origin.dataset == old or old.is_ancestor_of(origin.dataset)):
                dataset.origin = DatasetName(new.full + origin.dataset.full[len(old.full) :]).snapshot(origin.short)
            for snap in dataset.snapshots.values():
                snap.clones = {
                    (new.full + c[len(old.full) :]) if c == old.full or c.startswith(old.full + "/") else c
                    for c in snap.clones
                }

    def has_children(self, dataset: DatasetName) -> bool:
        """See ZfsBackend.has_children."""
        self._dataset(dataset, "list")
        return bool(self._children(dataset.full))

    def exists(self, name: ZfsName) -> bool:
        """See ZfsBackend.exists."""
        if isinstance(name, SnapshotName):
            dataset = self.state.datasets.get(name.dataset.full)
            return dataset is not None and name.short in dataset.snapshots
        return name.full in self.state.datasets

    def destroy_dataset(self, name: DatasetName, *, recursive: bool = False) -> None:
        """See ZfsBackend.destroy_dataset."""
        dataset = self._dataset(name, "destroy")
        self._require_permission("destroy", name.full)
        if name.parent is None:
            raise ZfsError("a pool's root dataset cannot be destroyed", dataset=name.full, operation="destroy")
        doomed = [name.full, *self._children(name.full)]
        if not recursive and (len(doomed) > 1 or dataset.snapshots):
            raise DatasetBusy("filesystem has children or snapshots; use recursive=True", dataset=name.full)
        for victim in doomed:
            for short, snap in self.state.datasets[victim].snapshots.items():
                if snap.holds:
                    raise DatasetBusy(f"snapshot {victim}@{short} is held", dataset=name.full, operation="destroy")
                outside = [c for c in snap.clones if c not in doomed]
                if outside:
                    raise SnapshotCloned(
                        f"snapshot {victim}@{short} has dependent clones: {', '.join(outside)}",
                        dataset=name.full,
                        operation="destroy",
                    )
        for victim in doomed:
            origin = self.state.datasets.pop(victim).origin
            if origin is not None and origin.dataset.full in self.state.datasets:
                self.state.datasets[origin.dataset.full].snapshots[origin.short].clones.discard(victim)
        self._tick(name.pool)
