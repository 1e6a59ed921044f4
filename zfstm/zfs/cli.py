"""The CLI backend: ZfsBackend over the ``zfs`` command, locally or through a command prefix such as ssh.

For hosts without pyzfs (SmartOS, other illumos) and for backup servers reached over ssh. Every batch operation is
still one ZFS call: ``zfs snapshot a@s b@s`` is one lzc_snapshot, ``zfs destroy fs@a,b,c`` one lzc_destroy_snaps.
Argument lists come from :mod:`zfstm.zfs.cli_argv`, output parsing from :mod:`zfstm.zfs.cli_parse`, and every
error message is interpreted in :mod:`zfstm.zfs.cli_errors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import attrs

from zfstm.command import Completed, Runner
from zfstm.errors import (
    DatasetNotFound,
    EnvironmentMissing,
    HoldExists,
    HoldNotFound,
    InvalidName,
    ZfsError,
    ZfsPermissionDenied,
)
from zfstm.runner import run_command
from zfstm.zfs import checks
from zfstm.zfs import cli_argv as argv_for
from zfstm.zfs.backend import N
from zfstm.zfs.cli_errors import destroy_refusals, error_from_stderr, failed_names, killed_by, nothing_to_destroy
from zfstm.zfs.cli_parse import (
    UNSET,
    parse_get,
    parse_get_many,
    parse_holds,
    parse_local_properties,
    parse_many,
    parse_names,
    parse_reclaim,
    parse_snapshot_infos,
    parse_snapshot_list,
    parse_snapshot_user_props,
    snapshot_columns,
)
from zfstm.zfs.destroy import Refusals, chunks_by_size, destroy_in_rounds, group_by, newest_first
from zfstm.zfs.names import DatasetName, HoldTag, SnapshotName, ZfsName, validate_user_property
from zfstm.zfs.prefix import CommandPrefix
from zfstm.zfs.rollback import rollback_procedure
from zfstm.zfs.types import DatasetListing, DestroyOutcome, DestroyReport, DestroyResult, SnapshotInfo, SnapshotProperty

#: Longest ``fs@a,b,c`` argument per destroy call. Linux limits one argument to 128 KiB (MAX_ARG_STRLEN) and ssh
#: turns the whole command into one argument of the remote shell, so stay well below.
DESTROY_ARGUMENT_BUDGET = 64 * 1024
#: Longest ``fs@a,b,c`` argument (in bytes) of a dry-run destroy. A dry run cannot be split into chunks without
#: missing the blocks shared across them, so a longer one is not run: the backend cannot tell (None).
RECLAIM_ARGUMENT_LIMIT = 100 * 1024


#: No time limit for zfs itself: a destroy or rollback is never killed half-way (a remote prefix has its own).
ZFS_TIMEOUT: float | None = None


@attrs.frozen
class CliBackend:
    """ZfsBackend over the zfs command. ``prefix`` reaches zfs elsewhere (ssh) or as someone else (runuser)."""

    prefix: CommandPrefix = attrs.field(factory=CommandPrefix.local)
    runner: Runner = run_command
    kind: str = "cli"

    # -- running -------------------------------------------------------------------------------------------------

    def command(self, argv: Sequence[str]) -> list[str]:
        """The full argument list for a zfs command under this backend's prefix."""
        if self.prefix.is_local:
            return list(argv)
        if self.prefix.joins_arguments:
            # A remote shell may run in any locale: set C there too, where zfs runs.
            return self.prefix.wrap(["env", "LC_ALL=C", *argv])
        return self.prefix.wrap(argv)

    def _run(self, argv: Sequence[str]) -> Completed:
        return self.runner(self.command(argv), timeout=ZFS_TIMEOUT)

    def _check(self, argv: Sequence[str], *, operation: str, dataset: str) -> Completed:
        done = self._run(argv)
        if done.returncode != 0:
            raise error_from_stderr(done.stderr, returncode=done.returncode, operation=operation, dataset=dataset)
        return done

    # -- snapshots -----------------------------------------------------------------------------------------------

    def snapshot(self, names: Iterable[SnapshotName], user_props: Mapping[str, str] | None = None) -> None:
        """See ZfsBackend.snapshot."""
        batch = checks.atomic_snapshot_batch(names, user_props)
        dataset = batch[0].full if len(batch) == 1 else batch[0].dataset.full
        self._check(argv_for.snapshot(batch, user_props), operation="snapshot", dataset=dataset)

    def _existing_snapshots(self, dataset: DatasetName) -> dict[SnapshotName, int]:
        """The dataset's snapshots and their createtxg (none when the dataset is missing)."""
        try:
            return {info.name: info.createtxg for info in self.list_snapshots(dataset)}
        except DatasetNotFound:
            return {}

    def destroy_snapshots(self, names: Iterable[SnapshotName]) -> DestroyReport:
        """See ZfsBackend.destroy_snapshots. One listing per dataset, then one ``zfs destroy fs@a,b,...`` per 64 KiB of
        names, newest first (zfstm.zfs.destroy says why not in smaller chunks)."""
        ordered = list(dict.fromkeys(names))
        results: dict[SnapshotName, DestroyResult] = {}
        for group in group_by(ordered, lambda n: n.dataset.full).values():
            existing = self._existing_snapshots(group[0].dataset)
            present = [n for n in group if n in existing]
            results.update((n, DestroyResult(n, DestroyOutcome.NOT_FOUND)) for n in group if n not in existing)
            ordered_present = newest_first(present, existing)
            for chunk in chunks_by_size(ordered_present, DESTROY_ARGUMENT_BUDGET, argv_for.destroy_argument_size):
                results.update(destroy_in_rounds(chunk, self._destroy_attempt))
        return DestroyReport(tuple(results[n] for n in ordered))

    def _destroy_attempt(self, batch: Sequence[SnapshotName]) -> Refusals:
        dataset = batch[0].dataset
        done = self._run(argv_for.destroy_snapshots(dataset, [n.short for n in batch]))
        if done.returncode == 0:
            return {}
        error = error_from_stderr(done.stderr, returncode=done.returncode, operation="destroy", dataset=batch[0].full)
        if isinstance(error, ZfsPermissionDenied | EnvironmentMissing):
            raise error
        if killed_by(done.returncode) is not None:  # it may have destroyed them: only what is still there failed
            still = self._existing_snapshots(dataset)
            return {name: (DestroyOutcome.FAILED, str(error)) for name in batch if name in still}
        if nothing_to_destroy(done.stderr) and not self._existing_snapshots(dataset).keys() & set(batch):
            # gone since the listing (e.g. destroyed by a call of this prune that was killed): nothing to do
            return dict.fromkeys(batch, (DestroyOutcome.NOT_FOUND, "gone before zfs ran"))
        return destroy_refusals(done.stderr, batch) or {name: (DestroyOutcome.FAILED, str(error)) for name in batch}

    def _destroy_all(self, names: Sequence[SnapshotName]) -> Refusals:
        """Destroy all names or none (one call per 64 KiB of names: beyond that, earlier chunks stay destroyed)."""
        for chunk in chunks_by_size(names, DESTROY_ARGUMENT_BUDGET, argv_for.destroy_argument_size):
            refused = {n: r for n, r in self._destroy_attempt(chunk).items() if r[0] is not DestroyOutcome.NOT_FOUND}
            if refused:
                return refused
        return {}

    def _holds_of(self, batch: Sequence[SnapshotName], operation: str) -> dict[SnapshotName, dict[str, datetime]]:
        """Holds of several snapshots in one ``zfs holds`` call; DatasetNotFound if one is missing."""
        done = self._check(argv_for.holds(batch), operation=operation, dataset=batch[0].full)
        found = parse_holds(done.stdout)
        return {name: found.get(name, {}) for name in batch}

    def hold(self, snapshots: Iterable[SnapshotName], tag: HoldTag) -> None:
        """See ZfsBackend.hold.

        ``zfs hold tag a b`` holds one snapshot after the other and carries on past failures, so it is not atomic:
        the snapshots are checked first (one ``zfs holds`` call), and if the hold still fails half way the holds it
        did place are released again.
        """
        batch = checks.same_pool(snapshots, "hold")
        if not batch:
            return
        for name, tags in self._holds_of(batch, "hold").items():
            if tag.value in tags:
                raise HoldExists(f"tag {tag} already exists on this snapshot", dataset=name.full, operation="hold")
        done = self._run(argv_for.hold(tag, batch))
        if done.returncode == 0:
            return
        error = error_from_stderr(done.stderr, returncode=done.returncode, operation="hold", dataset=batch[0].full)
        failed = failed_names(done.stderr)
        placed = [n for n in batch if n not in failed]
        if placed and not isinstance(error, ZfsPermissionDenied):
            self._run(argv_for.release(tag, placed))
        raise error

    def release(self, snapshots: Iterable[SnapshotName], tag: HoldTag) -> None:
        """See ZfsBackend.release. Checked first (one ``zfs holds`` call): HoldNotFound before anything changes."""
        batch = checks.same_pool(snapshots, "release")
        if not batch:
            return
        for name, tags in self._holds_of(batch, "release").items():
            if tag.value not in tags:
                raise HoldNotFound(f"no hold with tag {tag} on this snapshot", dataset=name.full, operation="release")
        self._check(argv_for.release(tag, batch), operation="release", dataset=batch[0].full)

    def holds(self, snapshot: SnapshotName) -> dict[str, datetime]:
        """See ZfsBackend.holds."""
        return self._holds_of([snapshot], "holds")[snapshot]

    def holds_of(self, snapshots: Sequence[SnapshotName]) -> dict[SnapshotName, dict[str, datetime]]:
        """See ZfsBackend.holds_of."""
        found: dict[SnapshotName, dict[str, datetime]] = {}
        for chunk in chunks_by_size(
            list(dict.fromkeys(snapshots)), DESTROY_ARGUMENT_BUDGET, argv_for.name_argument_size
        ):
            found.update(self._holds_of(chunk, "holds"))
        return found

    def dataset_properties(
        self, datasets: Sequence[DatasetName], props: Iterable[str]
    ) -> dict[str, dict[str, str | None]]:
        """See ZfsBackend.dataset_properties."""
        wanted = list(dict.fromkeys(props))
        for prop in wanted:
            if ":" in prop:
                validate_user_property(prop)
        found: dict[str, dict[str, str | None]] = {}
        for chunk in chunks_by_size(
            list(dict.fromkeys(datasets)), DESTROY_ARGUMENT_BUDGET, argv_for.name_argument_size
        ):
            got = self._check(argv_for.get_many(chunk, wanted), operation="get", dataset=chunk[0].full)
            values = parse_get_many(got.stdout)
            for dataset in chunk:
                mine = values.get(dataset.full, {})
                found[dataset.full] = {prop: mine.get(prop, (None, UNSET))[0] for prop in wanted}
        return found

    def snapshot_infos(
        self,
        snapshots: Sequence[SnapshotName],
        properties: Iterable[SnapshotProperty] = (),
        user_props: Iterable[str] = (),
    ) -> dict[SnapshotName, SnapshotInfo]:
        """See ZfsBackend.snapshot_infos. ``zfs get`` goes on past a missing name (and exits 1): only a failure other
        than "does not exist" is raised."""
        slow = list(dict.fromkeys(properties))
        user = list(dict.fromkeys(user_props))
        for prop in user:
            validate_user_property(prop)
        found: dict[SnapshotName, SnapshotInfo] = {}
        for chunk in chunks_by_size(
            list(dict.fromkeys(snapshots)), DESTROY_ARGUMENT_BUDGET, argv_for.name_argument_size
        ):
            done = self._run(
                argv_for.get_many(chunk, [*argv_for.FAST_SNAPSHOT_COLUMNS[1:], *(p.value for p in slow), *user])
            )
            if done.returncode != 0:
                errors = [
                    error_from_stderr(line, returncode=done.returncode, operation="get", dataset=chunk[0].full)
                    for line in done.stderr.splitlines()
                    if line.strip()
                ]
                if not errors or any(not isinstance(error, DatasetNotFound) for error in errors):
                    raise error_from_stderr(
                        done.stderr, returncode=done.returncode, operation="get", dataset=chunk[0].full
                    )
            found.update(parse_snapshot_infos(done.stdout, slow, user))
        return found

    def rollback_to(self, snapshot: SnapshotName, *, destroy_newer: bool = False) -> DestroyReport:
        """See ZfsBackend.rollback_to."""

        def rollback() -> None:
            self._check(argv_for.rollback(snapshot), operation="rollback", dataset=snapshot.full)

        return rollback_procedure(
            snapshot,
            destroy_newer=destroy_newer,
            list_snapshots=lambda: self.list_snapshots(snapshot.dataset),
            destroy_all=self._destroy_all,
            rollback=rollback,
        )

    def list_snapshots(
        self,
        dataset: DatasetName,
        properties: Iterable[SnapshotProperty] = (),
        user_props: Iterable[str] = (),
    ) -> list[SnapshotInfo]:
        """See ZfsBackend.list_snapshots."""
        slow = list(dict.fromkeys(properties))
        wanted_user = list(dict.fromkeys(user_props))
        for prop in wanted_user:
            validate_user_property(prop)
        done = self._check(
            argv_for.list_snapshots(dataset, snapshot_columns(slow)), operation="list", dataset=dataset.full
        )
        own: dict[SnapshotName, dict[str, str]] = {}
        if wanted_user:
            got = self._check(
                argv_for.get_snapshot_user_props(dataset, wanted_user), operation="list", dataset=dataset.full
            )
            own = parse_snapshot_user_props(got.stdout)
        return parse_snapshot_list(done.stdout, slow, own)

    def list_datasets(
        self,
        datasets: Sequence[DatasetName],
        properties: Iterable[SnapshotProperty] = (),
        user_props: Iterable[str] = (),
        dataset_props: Iterable[str] = (),
    ) -> dict[str, DatasetListing]:
        """See ZfsBackend.list_datasets.

        A ``zfs list`` column cannot tell a snapshot's own user property from one inherited from its dataset, so the
        one ``zfs get`` of the datasets reads the wanted user properties too: where a dataset has none of them, the
        columns are the snapshots' own; only a dataset that has one is read again the slow way (``zfs get -d 1``).
        """
        slow = list(dict.fromkeys(properties))
        wanted_user = list(dict.fromkeys(user_props))
        for prop in wanted_user:
            validate_user_property(prop)
        own_props = list(dict.fromkeys(dataset_props))
        for prop in own_props:
            if ":" in prop:
                validate_user_property(prop)
        found: dict[str, DatasetListing] = {}
        for chunk in chunks_by_size(
            list(dict.fromkeys(datasets)), DESTROY_ARGUMENT_BUDGET, argv_for.name_argument_size
        ):
            found.update(self._list_chunk(chunk, slow, wanted_user, own_props))
        return found

    def _list_chunk(
        self, chunk: Sequence[DatasetName], slow: Sequence[SnapshotProperty], user: Sequence[str], own: Sequence[str]
    ) -> dict[str, DatasetListing]:
        names = [d.full for d in chunk]
        values = {}
        if own or user:
            got = self._check(argv_for.get_many(chunk, [*own, *user]), operation="get", dataset=names[0])
            values = parse_get_many(got.stdout)
        done = self._check(
            argv_for.list_many(chunk, [*snapshot_columns(slow), *user]), operation="list", dataset=names[0]
        )
        listed = parse_many(done.stdout, slow, user, names)
        found = {}
        for dataset in chunk:
            snapshots, bookmarks = listed[dataset.full]
            mine = values.get(dataset.full, {})
            if any(mine.get(prop, (None, UNSET))[1] != UNSET for prop in user):  # inheritable: the slow way
                got = self._check(
                    argv_for.get_snapshot_user_props(dataset, user), operation="list", dataset=dataset.full
                )
                by_name = parse_snapshot_user_props(got.stdout)
                snapshots = [attrs.evolve(info, user_props=by_name.get(info.name, {})) for info in snapshots]
            properties = {prop: mine.get(prop, (None, UNSET))[0] for prop in own}
            found[dataset.full] = DatasetListing(dataset, tuple(snapshots), tuple(bookmarks), properties)
        return found

    # -- properties ----------------------------------------------------------------------------------------------

    def get_properties(self, name: ZfsName, props: Iterable[str]) -> dict[str, str | None]:
        """See ZfsBackend.get_properties."""
        wanted = list(dict.fromkeys(props))
        if not wanted:
            return {}
        for prop in wanted:
            if ":" in prop:
                validate_user_property(prop)
        done = self._check(argv_for.get(name, wanted), operation="get", dataset=name.full)
        values = parse_get(done.stdout)
        return {prop: values.get(prop) for prop in wanted}

    def set_property(self, name: ZfsName, prop: str, value: str) -> None:
        """See ZfsBackend.set_property."""
        if ":" in prop:
            validate_user_property(prop)
        if "\n" in value or "\0" in value:
            raise InvalidName(f"value of {prop} contains a newline or NUL", dataset=name.full, operation="set")
        self._check(argv_for.set_property(name, prop, value), operation="set", dataset=name.full)

    def local_properties(self, dataset: DatasetName) -> dict[str, str]:
        """See ZfsBackend.local_properties."""
        done = self._check(argv_for.local_properties(dataset), operation="get", dataset=dataset.full)
        return parse_local_properties(done.stdout)

    # -- space ---------------------------------------------------------------------------------------------------

    def reclaimable_space(self, snapshots: Sequence[SnapshotName]) -> int | None:
        """See ZfsBackend.reclaimable_space. One ``zfs destroy -nvp fs@a,b,c`` per dataset."""
        dry_runs = {
            dataset: argv_for.destroy_dry_run(group[0].dataset, [n.short for n in group])
            for dataset, group in group_by(snapshots, lambda n: n.dataset.full).items()
        }
        if any(len(argv[-1].encode()) > RECLAIM_ARGUMENT_LIMIT for argv in dry_runs.values()):
            return None
        total = 0
        for dataset, argv in dry_runs.items():
            done = self._run(argv)
            if done.returncode != 0:
                if nothing_to_destroy(done.stderr):
                    continue  # the dataset is there but none of its named snapshots: they free nothing
                raise error_from_stderr(done.stderr, returncode=done.returncode, operation="reclaim", dataset=dataset)
            reclaim = parse_reclaim(done.stdout)
            if reclaim is None:
                return None
            total += reclaim
        return total

    # -- datasets ------------------------------------------------------------------------------------------------

    def create_filesystem(self, name: DatasetName, props: Mapping[str, str] | None = None) -> None:
        """See ZfsBackend.create_filesystem."""
        self._check(argv_for.create_filesystem(name, props), operation="create", dataset=name.full)

    def create_volume(self, name: DatasetName, size: int, props: Mapping[str, str] | None = None) -> None:
        """See ZfsBackend.create_volume."""
        self._check(argv_for.create_volume(name, size, props), operation="create", dataset=name.full)

    def clone(self, snapshot: SnapshotName, target: DatasetName, props: Mapping[str, str] | None = None) -> None:
        """See ZfsBackend.clone."""
        self._check(argv_for.clone(snapshot, target, props), operation="clone", dataset=target.full)

    def promote(self, dataset: DatasetName) -> None:
        """See ZfsBackend.promote."""
        self._check(argv_for.promote(dataset), operation="promote", dataset=dataset.full)

    def rename(self, old: N, new: N) -> None:
        """See ZfsBackend.rename."""
        self._check(argv_for.rename(old, new), operation="rename", dataset=old.full)

    def has_children(self, dataset: DatasetName) -> bool:
        """See ZfsBackend.has_children."""
        done = self._check(argv_for.child_datasets(dataset), operation="list", dataset=dataset.full)
        return any(name != dataset.full for name in parse_names(done.stdout))

    def exists(self, name: ZfsName) -> bool:
        """See ZfsBackend.exists."""
        done = self._run(argv_for.exists(name))
        if done.returncode == 0:
            return True
        error = error_from_stderr(done.stderr, returncode=done.returncode, operation="exists", dataset=name.full)
        if isinstance(error, DatasetNotFound):
            return False
        raise error

    def destroy_dataset(self, name: DatasetName, *, recursive: bool = False) -> None:
        """See ZfsBackend.destroy_dataset."""
        if name.parent is None:
            raise ZfsError("refusing to destroy a pool's root dataset", dataset=name.full, operation="destroy")
        self._check(argv_for.destroy_dataset(name, recursive=recursive), operation="destroy", dataset=name.full)
