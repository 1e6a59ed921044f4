"""The one interface zfstm uses to talk to ZFS, whatever sits underneath (libzfs_core, the zfs CLI, a fake).

Why a Protocol and not a base class: the three implementations share no code paths worth inheriting, and a
structural type lets tests and callers pass any object with these methods. The contract test suite
(tests/contract/) runs the same assertions against every implementation; that suite, not this docstring, is the
definition of the behaviour.

Shared rules for every implementation:

- Names are typed (:mod:`zfstm.zfs.names`) and so already valid; ZFS's refusals become the exception classes of
  :mod:`zfstm.errors` (DatasetNotFound, SnapshotExists, SnapshotHeld, ZfsPermissionDenied, ...), each naming the
  dataset and the operation.
- Batch operations are one ZFS call where ZFS allows it (one transaction group), because per-name calls are what
  makes other tools slow (one ``zfs destroy`` per snapshot costs ~85 ms in the testbed).
- Partial outcomes are values (:class:`~zfstm.zfs.types.DestroyReport`), not exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from zfstm.zfs.names import DatasetName, HoldTag, SnapshotName, ZfsName
from zfstm.zfs.types import DatasetListing, DestroyReport, SnapshotInfo, SnapshotProperty

N = TypeVar("N", DatasetName, SnapshotName)


class ZfsBackend(Protocol):
    """Operations zfstm needs from ZFS. See the module docstring for the shared rules."""

    @property
    def kind(self) -> str:
        """Short name of the implementation ("lzc", "cli", "fake"), for logs and reports."""
        ...

    def snapshot(self, names: Iterable[SnapshotName], user_props: Mapping[str, str] | None = None) -> None:
        """Create all ``names`` atomically: one transaction group, all or nothing, one shared createtxg.

        All names must be in one pool (PoolsDiffer otherwise) with at most one snapshot per dataset
        (DuplicateSnapshots). ``user_props`` (``module:name`` -> value) are set on every new snapshot in the same
        transaction; ZFS allows only user properties at snapshot time. Raises SnapshotExists when one name is
        taken (then none is created), DatasetNotFound when a dataset is missing.
        """
        ...

    def destroy_snapshots(self, names: Iterable[SnapshotName]) -> DestroyReport:
        """Destroy ``names`` in as few batched calls as ZFS allows and report the outcome per name.

        ZFS refuses a whole batch when one snapshot in it is held or cloned; the refused names are stripped and the
        rest retried, so one held snapshot never keeps the others alive. Missing names are NOT_FOUND, not errors.
        Names may span datasets and pools (they are grouped internally). Never destroys anything not named.
        """
        ...

    def hold(self, snapshots: Iterable[SnapshotName], tag: HoldTag) -> None:
        """Put the user hold ``tag`` on every snapshot, all or nothing.

        HoldExists if a snapshot already carries ``tag``, DatasetNotFound if one is missing; in both cases no new
        hold stays behind. A held snapshot cannot be destroyed until every tag is released.
        """
        ...

    def release(self, snapshots: Iterable[SnapshotName], tag: HoldTag) -> None:
        """Remove the user hold ``tag`` from every snapshot. HoldNotFound if a snapshot does not carry it."""
        ...

    def holds(self, snapshot: SnapshotName) -> dict[str, datetime]:
        """The user holds on ``snapshot``: tag -> when it was placed (UTC). DatasetNotFound if missing."""
        ...

    def rollback_to(self, snapshot: SnapshotName, *, destroy_newer: bool = False) -> DestroyReport:
        """Roll ``snapshot``'s dataset back to it and return the report of the newer snapshots destroyed first.

        With newer snapshots present this raises SnapshotNotLatest (naming them) unless ``destroy_newer``; then
        they are destroyed in one batch first, and if any of them is refused (held, cloned) nothing is rolled back
        and the refusal is raised (SnapshotHeld / SnapshotCloned). Never ``zfs rollback -r``, which destroys one by
        one and can stop half way.
        """
        ...

    def list_snapshots(
        self,
        dataset: DatasetName,
        properties: Iterable[SnapshotProperty] = (),
        user_props: Iterable[str] = (),
    ) -> list[SnapshotInfo]:
        """The snapshots of ``dataset`` itself (not its children), oldest first (by createtxg).

        Only name, guid and createtxg are read unless ``properties`` or ``user_props`` ask for more: those make ZFS
        open every snapshot. DatasetNotFound when ``dataset`` is missing.
        """
        ...

    def list_datasets(
        self,
        datasets: Sequence[DatasetName],
        properties: Iterable[SnapshotProperty] = (),
        user_props: Iterable[str] = (),
        dataset_props: Iterable[str] = (),
    ) -> dict[str, DatasetListing]:
        """Several datasets at once, by full name: what ``list_snapshots`` gives for each, its bookmarks, and the raw
        values of ``dataset_props`` on the dataset itself (None when unset).

        In as few processes as the backend allows, so that a tick over many targets of a pool lists them together
        (the CLI: one ``zfs get`` of the datasets' properties and one ``zfs list -t snapshot,bookmark`` of all
        their snapshots, per 64 KiB of names). A user property counts only where it is set on the snapshot itself
        (local or received), never inherited from its dataset. All or nothing: DatasetNotFound (or another
        ZfsError) when any dataset cannot be listed; a caller tells which by listing them one by one.
        """
        ...

    def dataset_properties(
        self, datasets: Sequence[DatasetName], props: Iterable[str]
    ) -> dict[str, dict[str, str | None]]:
        """``get_properties`` of several datasets, by full name, in one ``zfs get`` (per 64 KiB of names) for the CLI.
        All or nothing: DatasetNotFound when one is missing, another ZfsError when ZFS does not know a property."""
        ...

    def snapshot_infos(
        self,
        snapshots: Sequence[SnapshotName],
        properties: Iterable[SnapshotProperty] = (),
        user_props: Iterable[str] = (),
    ) -> dict[SnapshotName, SnapshotInfo]:
        """What ``list_snapshots`` tells of each of ``snapshots`` (own user properties only), read by name: the few
        snapshots a tick must see fresh (see zfstm.snapshots.memory) without listing their datasets. The CLI: one
        ``zfs get`` per 64 KiB of names. A snapshot that does not exist is absent from the answer."""
        ...

    def holds_of(self, snapshots: Sequence[SnapshotName]) -> dict[SnapshotName, dict[str, datetime]]:
        """``holds`` of several snapshots (one ``zfs holds`` per 64 KiB of names for the CLI). All or nothing:
        DatasetNotFound when one is missing."""
        ...

    def get_properties(self, name: ZfsName, props: Iterable[str]) -> dict[str, str | None]:
        """Raw (parsable, ``zfs get -p``) values of ``props`` on a dataset or snapshot; None when unset."""
        ...

    def set_property(self, name: ZfsName, prop: str, value: str) -> None:
        """Set one property (native on datasets, user properties on snapshots)."""
        ...

    def local_properties(self, dataset: DatasetName) -> dict[str, str]:
        """Every property set on ``dataset`` itself (source local or received), raw values; no inherited ones.

        What a clone must be given to behave like the dataset it replaces (a clone inherits nothing from its
        origin). DatasetNotFound when ``dataset`` is missing.
        """
        ...

    def has_children(self, dataset: DatasetName) -> bool:
        """True when a filesystem or volume lies below ``dataset`` (snapshots do not count).

        A rename would carry such children along. DatasetNotFound when ``dataset`` is missing.
        """
        ...

    def reclaimable_space(self, snapshots: Sequence[SnapshotName]) -> int | None:
        """Bytes that destroying all ``snapshots`` together would free, as ZFS's own dry run computes it.

        Why not the sum of each snapshot's ``used``: that counts only blocks unique to one snapshot and misses the
        blocks shared only among the destroyed ones. Snapshots may span datasets (one dry run per dataset, summed);
        names that no longer exist free nothing, and an empty list frees 0. None when the backend cannot tell (the
        fake keeps no block accounting; one dataset's names would exceed the dry run's argument limit). ZFS's
        refusals raise like every other method: DatasetNotFound for a missing dataset, SnapshotCloned when a
        snapshot has clones; holds do not matter to a dry run. Callers wanting a best-effort figure catch ZfsError.
        """
        ...

    def create_filesystem(self, name: DatasetName, props: Mapping[str, str] | None = None) -> None:
        """Create (and mount, as ``zfs create`` does) a filesystem. The parent must exist."""
        ...

    def create_volume(self, name: DatasetName, size: int, props: Mapping[str, str] | None = None) -> None:
        """Create a volume (zvol) of ``size`` bytes; ``props`` may set volblocksize and refreservation=none (sparse)."""
        ...

    def clone(self, snapshot: SnapshotName, target: DatasetName, props: Mapping[str, str] | None = None) -> None:
        """Create the filesystem ``target`` as a writable clone of ``snapshot`` (same pool), mounted."""
        ...

    def promote(self, dataset: DatasetName) -> None:
        """Make the clone ``dataset`` independent of its origin (the origin's older snapshots move to it)."""
        ...

    def rename(self, old: N, new: N) -> None:
        """Rename a dataset (within its pool) or a snapshot (within its dataset)."""
        ...

    def exists(self, name: ZfsName) -> bool:
        """True when the dataset or snapshot exists (and is visible to the caller)."""
        ...

    def destroy_dataset(self, name: DatasetName, *, recursive: bool = False) -> None:
        """Destroy a filesystem; with ``recursive`` also its children and snapshots (``zfs destroy -r``).

        For cleanup after a rollback or a test, not for retention: snapshots go through destroy_snapshots.
        """
        ...
