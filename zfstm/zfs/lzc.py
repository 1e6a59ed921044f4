"""The libzfs_core backend: snapshot, destroy, hold, release, rollback through pyzfs ioctls, no processes.

Why both lzc and CLI here: libzfs_core is the fast, atomic, typed path (no fork/exec of ``zfs``, errors as errno
per name), but it cannot list datasets or snapshots (pyzfs's ``lzc_list*`` raise NotImplementedError), cannot read
properties, and does not mount or unmount: ``lzc_create``/``lzc_clone`` leave the filesystem unmounted,
``lzc_rename``/``lzc_destroy`` fail or strand mounts on mounted filesystems. Those operations are delegated to the
local CLI backend, which lets the ``zfs`` command's libzfs do the mount handling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

from zfstm.errors import DatasetNotFound, EnvironmentMissing, HoldNotFound, ZfsPermissionDenied
from zfstm.zfs import checks
from zfstm.zfs.backend import N
from zfstm.zfs.cli import CliBackend
from zfstm.zfs.destroy import NEWEST_FIRST_CHUNK, Refusals, destroy_in_rounds, group_by, newest_first_chunks
from zfstm.zfs.lzc_errors import describe, name_of, sub_errors, translate
from zfstm.zfs.lzc_import import BackgroundImport
from zfstm.zfs.names import DatasetName, HoldTag, SnapshotName, ZfsName
from zfstm.zfs.rollback import rollback_procedure
from zfstm.zfs.types import DatasetListing, DestroyOutcome, DestroyReport, DestroyResult, SnapshotInfo, SnapshotProperty

#: Names per lzc_destroy_snaps call: far below the ioctl's nvlist limit, large enough that 1,000 go in one call.
DESTROY_BATCH = 10_000
#: From this many names of one dataset on, one listing is cheaper than one lzc_exists per name.
LIST_INSTEAD_OF_EXISTS = 20


def _b(name: ZfsName | str) -> bytes:
    return (name if isinstance(name, str) else name.full).encode()


@attrs.frozen
class LzcBackend:
    """ZfsBackend over pyzfs. ``lzc`` is the libzfs_core module (injectable for tests); ``cli`` lists and mounts."""

    lzc: Any = attrs.field(factory=BackgroundImport)
    cli: CliBackend = attrs.field(factory=CliBackend)
    kind: str = "lzc"

    def _call(self, operation: str, dataset: str, function: str, *args: Any) -> Any:
        call = getattr(self.lzc, function)
        try:
            return call(*args)
        except Exception as exc:
            if type(exc).__module__.startswith("libzfs_core") or hasattr(exc, "errno"):
                raise translate(exc, operation=operation, dataset=dataset) from exc
            raise

    # -- snapshots -----------------------------------------------------------------------------------------------

    def snapshot(self, names: Iterable[SnapshotName], user_props: Mapping[str, str] | None = None) -> None:
        """See ZfsBackend.snapshot. One lzc_snapshot: one transaction group for all names."""
        batch = checks.atomic_snapshot_batch(names, user_props)
        props = {k.encode(): v.encode() for k, v in (user_props or {}).items()}
        self._call("snapshot", batch[0].full, "lzc_snapshot", [_b(n) for n in batch], props or None)

    def destroy_snapshots(self, names: Iterable[SnapshotName]) -> DestroyReport:
        """See ZfsBackend.destroy_snapshots. One lzc_destroy_snaps per pool (and 10,000 names)."""
        ordered = list(dict.fromkeys(names))
        results: dict[SnapshotName, DestroyResult] = {}
        for group in group_by(ordered, lambda n: n.pool).values():
            present = self._present(group)
            results.update((n, DestroyResult(n, DestroyOutcome.NOT_FOUND)) for n in group if n not in present)
            # Newest first in small chunks where a listing told the order; in ZFS's own order otherwise.
            known = {n: txg for n, txg in present.items() if txg is not None}
            for chunk in newest_first_chunks(list(present), known, NEWEST_FIRST_CHUNK if known else DESTROY_BATCH):
                results.update(destroy_in_rounds(chunk, self._destroy_attempt))
        return DestroyReport(tuple(results[n] for n in ordered))

    def _present(self, names: Sequence[SnapshotName]) -> dict[SnapshotName, int | None]:
        """Which names exist (lzc_destroy_snaps ignores missing names, so "destroyed" needs this), with their
        createtxg where a listing told it (for the newest-first order).

        One listing per dataset with many names (one ``zfs list`` costs about as much as 20 lzc_exists ioctls in
        the testbed); lzc_exists for the few.
        """
        found: dict[SnapshotName, int | None] = {}
        for wanted in group_by(names, lambda n: n.dataset.full).values():
            if len(wanted) >= LIST_INSTEAD_OF_EXISTS:
                try:
                    listed = {info.name: info.createtxg for info in self.cli.list_snapshots(wanted[0].dataset)}
                except DatasetNotFound:
                    continue
                found.update((n, listed[n]) for n in wanted if n in listed)
            else:
                found.update((n, None) for n in wanted if self._call("exists", n.full, "lzc_exists", _b(n)))
        return {n: found[n] for n in names if n in found}

    def _destroy_attempt(self, batch: Sequence[SnapshotName]) -> Refusals:
        try:
            self.lzc.lzc_destroy_snaps([_b(n) for n in batch], False)
        except Exception as exc:
            if not hasattr(exc, "errno") and not hasattr(exc, "errors"):
                raise
            by_full = {n.full: n for n in batch}
            refused: dict[SnapshotName, tuple[DestroyOutcome, str]] = {}
            for error in sub_errors(exc):
                mapped = translate(error, operation="destroy", dataset=batch[0].full)
                if isinstance(mapped, ZfsPermissionDenied | EnvironmentMissing):
                    raise mapped from exc
                name = by_full.get(name_of(error) or "")
                if name is None:
                    continue
                kind = type(error).__name__
                outcome = {"SnapshotIsHeld": DestroyOutcome.HELD, "SnapshotIsCloned": DestroyOutcome.CLONED}.get(
                    kind, DestroyOutcome.FAILED
                )
                reason = {"SnapshotIsHeld": "snapshot is held", "SnapshotIsCloned": "snapshot is cloned"}.get(
                    kind, describe(error)
                )
                refused[name] = (outcome, reason)
            if not refused:
                return {n: (DestroyOutcome.FAILED, str(translate(exc, operation="destroy"))) for n in batch}
            return refused
        return {}

    def hold(self, snapshots: Iterable[SnapshotName], tag: HoldTag) -> None:
        """See ZfsBackend.hold. lzc_hold skips missing snapshots; those holds are released again, then it raises."""
        batch = checks.same_pool(snapshots, "hold")
        if not batch:
            return
        missing = self._call("hold", batch[0].full, "lzc_hold", {_b(n): tag.value.encode() for n in batch}, None)
        if missing:
            missing_names = {m.decode() if isinstance(m, bytes) else str(m) for m in missing}
            placed = [n for n in batch if n.full not in missing_names]
            if placed:
                self._call("hold", placed[0].full, "lzc_release", {_b(n): [tag.value.encode()] for n in placed})
            raise DatasetNotFound(
                f"snapshot(s) {', '.join(sorted(missing_names))} do not exist; no hold was placed",
                dataset=sorted(missing_names)[0],
                operation="hold",
            )

    def release(self, snapshots: Iterable[SnapshotName], tag: HoldTag) -> None:
        """See ZfsBackend.release."""
        batch = checks.same_pool(snapshots, "release")
        if not batch:
            return
        for name in batch:  # lzc_release silently skips missing snapshots and absent tags; refuse instead
            if tag.value not in self.holds(name):
                raise HoldNotFound(f"no hold with tag {tag} on this snapshot", dataset=name.full, operation="release")
        self._call("release", batch[0].full, "lzc_release", {_b(n): [tag.value.encode()] for n in batch})

    def holds(self, snapshot: SnapshotName) -> dict[str, datetime]:
        """See ZfsBackend.holds."""
        raw = self._call("holds", snapshot.full, "lzc_get_holds", _b(snapshot))
        return {
            (tag.decode() if isinstance(tag, bytes) else str(tag)): datetime.fromtimestamp(int(when), tz=UTC)
            for tag, when in raw.items()
        }

    def rollback_to(self, snapshot: SnapshotName, *, destroy_newer: bool = False) -> DestroyReport:
        """See ZfsBackend.rollback_to. The rollback itself is lzc_rollback_to (refuses if anything newer exists)."""

        def rollback() -> None:
            self._call("rollback", snapshot.full, "lzc_rollback_to", _b(snapshot.dataset), _b(snapshot))

        return rollback_procedure(
            snapshot,
            destroy_newer=destroy_newer,
            list_snapshots=lambda: self.list_snapshots(snapshot.dataset),
            destroy_all=self._destroy_attempt,
            rollback=rollback,
        )

    def list_snapshots(
        self,
        dataset: DatasetName,
        properties: Iterable[SnapshotProperty] = (),
        user_props: Iterable[str] = (),
    ) -> list[SnapshotInfo]:
        """See ZfsBackend.list_snapshots (through the CLI: libzfs_core cannot list)."""
        return self.cli.list_snapshots(dataset, properties, user_props)

    # -- properties and space (CLI: libzfs_core cannot read properties) ----------------------------------------

    def list_datasets(
        self,
        datasets: Sequence[DatasetName],
        properties: Iterable[SnapshotProperty] = (),
        user_props: Iterable[str] = (),
        dataset_props: Iterable[str] = (),
    ) -> dict[str, DatasetListing]:
        """See ZfsBackend.list_datasets. Through the CLI (pyzfs lists nothing)."""
        return self.cli.list_datasets(datasets, properties, user_props, dataset_props)

    def dataset_properties(
        self, datasets: Sequence[DatasetName], props: Iterable[str]
    ) -> dict[str, dict[str, str | None]]:
        """See ZfsBackend.dataset_properties (CLI)."""
        return self.cli.dataset_properties(datasets, props)

    def snapshot_infos(
        self,
        snapshots: Sequence[SnapshotName],
        properties: Iterable[SnapshotProperty] = (),
        user_props: Iterable[str] = (),
    ) -> dict[SnapshotName, SnapshotInfo]:
        """See ZfsBackend.snapshot_infos. Through the CLI (libzfs_core reads no properties)."""
        return self.cli.snapshot_infos(snapshots, properties, user_props)

    def holds_of(self, snapshots: Sequence[SnapshotName]) -> dict[SnapshotName, dict[str, datetime]]:
        """See ZfsBackend.holds_of. One lzc_get_holds ioctl each (no process)."""
        return {name: self.holds(name) for name in dict.fromkeys(snapshots)}

    def get_properties(self, name: ZfsName, props: Iterable[str]) -> dict[str, str | None]:
        """See ZfsBackend.get_properties."""
        return self.cli.get_properties(name, props)

    def set_property(self, name: ZfsName, prop: str, value: str) -> None:
        """See ZfsBackend.set_property (CLI: zfs parses human values such as 10G and remounts on mountpoint)."""
        self.cli.set_property(name, prop, value)

    def local_properties(self, dataset: DatasetName) -> dict[str, str]:
        """See ZfsBackend.local_properties."""
        return self.cli.local_properties(dataset)

    def reclaimable_space(self, snapshots: Sequence[SnapshotName]) -> int | None:
        """See ZfsBackend.reclaimable_space (CLI: the dry run is ``zfs destroy -nvp``, summing lzc_snaprange_space
        over the contiguous ranges of the set)."""
        return self.cli.reclaimable_space(snapshots)

    # -- datasets (CLI where mounts are involved) ------------------------------------------------------------

    def create_filesystem(self, name: DatasetName, props: Mapping[str, str] | None = None) -> None:
        """See ZfsBackend.create_filesystem (CLI: lzc_create does not mount)."""
        self.cli.create_filesystem(name, props)

    def create_volume(self, name: DatasetName, size: int, props: Mapping[str, str] | None = None) -> None:
        """See ZfsBackend.create_volume (CLI, like create_filesystem)."""
        self.cli.create_volume(name, size, props)

    def clone(self, snapshot: SnapshotName, target: DatasetName, props: Mapping[str, str] | None = None) -> None:
        """See ZfsBackend.clone (CLI: lzc_clone does not mount)."""
        self.cli.clone(snapshot, target, props)

    def promote(self, dataset: DatasetName) -> None:
        """See ZfsBackend.promote."""
        self._call("promote", dataset.full, "lzc_promote", _b(dataset))

    def rename(self, old: N, new: N) -> None:
        """See ZfsBackend.rename (CLI: zfs unmounts and remounts renamed filesystems)."""
        self.cli.rename(old, new)

    def has_children(self, dataset: DatasetName) -> bool:
        """See ZfsBackend.has_children (CLI: libzfs_core cannot list)."""
        return self.cli.has_children(dataset)

    def exists(self, name: ZfsName) -> bool:
        """See ZfsBackend.exists."""
        return bool(self._call("exists", name.full, "lzc_exists", _b(name)))

    def destroy_dataset(self, name: DatasetName, *, recursive: bool = False) -> None:
        """See ZfsBackend.destroy_dataset (CLI: a mounted filesystem must be unmounted first)."""
        self.cli.destroy_dataset(name, recursive=recursive)
