"""The lzc backend's handling of pyzfs, with a stand-in libzfs_core module (pyzfs is not on the host)."""

from __future__ import annotations

import errno
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast

import pytest

from zfstm.command import Completed
from zfstm.errors import DatasetBusy, DatasetNotFound, PoolsDiffer, SnapshotExists, ZfsPermissionDenied
from zfstm.zfs.cli import CliBackend
from zfstm.zfs.destroy import NEWEST_FIRST_CHUNK
from zfstm.zfs.lzc import LIST_INSTEAD_OF_EXISTS, LzcBackend
from zfstm.zfs.lzc_errors import translate
from zfstm.zfs.names import DatasetName, HoldTag
from zfstm.zfs.types import DestroyOutcome, SnapshotInfo

FS = DatasetName("tank/tm")


# Stand-ins named like pyzfs's exception classes (translation goes by class name and errno).
class ZFSError(Exception):
    def __init__(self, errno_: int, message: str, name: bytes | None) -> None:
        super().__init__(message)
        self.errno, self.message, self.name = errno_, message, name


class SnapshotIsHeld(ZFSError):
    def __init__(self, name: bytes) -> None:
        super().__init__(errno.EBUSY, "snapshot is held", name)


class SnapshotIsCloned(ZFSError):
    def __init__(self, name: bytes) -> None:
        super().__init__(errno.EEXIST, "snapshot is cloned", name)


class SnapshotExistsErr(ZFSError):
    pass


SnapshotExistsErr.__name__ = "SnapshotExists"


class SnapshotDestructionFailure(ZFSError):
    def __init__(self, errors: list[ZFSError]) -> None:
        super().__init__(errors[0].errno, "destroy failed", None)
        self.errors = errors


class SuspendedPool(ZFSError):
    pass


def test_translate_by_class_errno_and_swapped_generic_message() -> None:
    """pyzfs classes map by name; EPERM wins; the generic name/message swap does not leak into messages."""
    assert isinstance(
        translate(SnapshotExistsErr(errno.EEXIST, "x", b"tank/a@s"), operation="snapshot"), SnapshotExists
    )
    swapped = ZFSError(errno.EPERM, "tank/a@s", b"Failed to create snapshot")
    error = translate(swapped, operation="snapshot", dataset="tank/a@s")
    assert isinstance(error, ZfsPermissionDenied) and "Operation not permitted" in str(error)
    assert isinstance(translate(ZFSError(errno.EXDEV, "m", None), operation="x"), PoolsDiffer)
    busy = translate(SuspendedPool(errno.EAGAIN, "Pool is suspended", b"tank"), operation="rollback")
    assert isinstance(busy, DatasetBusy) and "try again" in str(busy)


class FakeLzc:
    """Just enough of libzfs_core: snapshots held/cloned per name, all-or-nothing destroy with .errors."""

    def __init__(self, existing: set[bytes], held: set[bytes], cloned: set[bytes]) -> None:
        self.existing, self.held, self.cloned = existing, held, cloned
        self.destroy_calls: list[list[bytes]] = []
        self.released: list[Any] = []

    def lzc_exists(self, name: bytes) -> bool:
        return name in self.existing

    def lzc_destroy_snaps(self, snaps: list[bytes], defer: bool) -> None:
        self.destroy_calls.append(list(snaps))
        errors: list[ZFSError] = [SnapshotIsHeld(s) for s in snaps if s in self.held]
        errors += [SnapshotIsCloned(s) for s in snaps if s in self.cloned]
        if errors:
            raise SnapshotDestructionFailure(errors)
        self.existing -= set(snaps)

    def lzc_hold(self, holds: dict[bytes, bytes], fd: Any) -> list[bytes]:
        return [s for s in holds if s not in self.existing]

    def lzc_release(self, holds: dict[bytes, list[bytes]]) -> list[bytes]:
        self.released.append(holds)
        return []


def test_destroy_strips_refused_and_retries_once() -> None:
    """One lzc_destroy_snaps for all names, one retry without the held/cloned ones; outcomes per name."""
    names = [FS.snapshot(s) for s in ("a", "b", "c", "d")]
    lzc = FakeLzc({n.full.encode() for n in names}, held={b"tank/tm@b"}, cloned={b"tank/tm@c"})
    backend = LzcBackend(lzc=lzc)
    report = backend.destroy_snapshots([*names, FS.snapshot("gone")])
    assert len(lzc.destroy_calls) == 2 and lzc.destroy_calls[1] == [b"tank/tm@a", b"tank/tm@d"]
    assert report.outcome_of(names[1]) is DestroyOutcome.HELD
    assert report.outcome_of(names[2]) is DestroyOutcome.CLONED
    assert report.outcome_of(FS.snapshot("gone")) is DestroyOutcome.NOT_FOUND
    assert set(report.destroyed) == {names[0], names[3]}


class CountingLister:
    """Stands in for the CLI backend's listing; counts the calls."""

    def __init__(self, lzc: FakeLzc) -> None:
        self.lzc, self.calls = lzc, 0

    def list_snapshots(self, dataset: DatasetName) -> list[SnapshotInfo]:
        self.calls += 1
        if dataset != FS:
            raise DatasetNotFound("no such dataset", dataset=dataset.full, operation="list")
        shorts = [n.decode().split("@")[1] for n in self.lzc.existing if n.startswith(dataset.full.encode() + b"@")]
        return [SnapshotInfo(FS.snapshot(s), guid=int(s[1:]), createtxg=int(s[1:])) for s in sorted(shorts)]


def test_many_names_of_one_dataset_are_checked_with_one_listing() -> None:
    """Telling "destroyed" from "already gone": one listing per dataset with many names, not one ioctl each."""
    many = [FS.snapshot(f"s{i}") for i in range(LIST_INSTEAD_OF_EXISTS)]
    other = DatasetName("tank/gone")
    lzc = FakeLzc({n.full.encode() for n in many[:-1]}, held=set(), cloned=set())
    lzc.lzc_exists = lambda name: pytest.fail("lzc_exists called for a dataset with many names")  # type: ignore[method-assign]
    lister = CountingLister(lzc)
    report = LzcBackend(lzc=lzc, cli=cast(CliBackend, lister)).destroy_snapshots(
        [*many, *(other.snapshot(f"s{i}") for i in range(LIST_INSTEAD_OF_EXISTS))]
    )
    assert lister.calls == 2
    assert set(report.destroyed) == set(many[:-1])
    assert report.outcome_of(many[-1]) is DestroyOutcome.NOT_FOUND
    assert report.outcome_of(other.snapshot("s0")) is DestroyOutcome.NOT_FOUND
    assert lzc.destroy_calls == [[n.full.encode() for n in reversed(many[:-1])]]  # newest first


def test_many_names_go_newest_first_in_chunks() -> None:
    """Known creation order: one lzc_destroy_snaps per chunk of NEWEST_FIRST_CHUNK names, newest first."""
    many = [FS.snapshot(f"s{i}") for i in range(2 * NEWEST_FIRST_CHUNK + 7)]
    lzc = FakeLzc({n.full.encode() for n in many}, held=set(), cloned=set())
    report = LzcBackend(lzc=lzc, cli=cast(CliBackend, CountingLister(lzc))).destroy_snapshots(many)
    assert [len(call) for call in lzc.destroy_calls] == [NEWEST_FIRST_CHUNK, NEWEST_FIRST_CHUNK, 7]
    assert [name for call in lzc.destroy_calls for name in call] == [n.full.encode() for n in reversed(many)]
    assert set(report.destroyed) == set(many)


def test_hold_with_missing_snapshot_is_undone() -> None:
    """lzc_hold skips missing snapshots; the backend releases what it held and raises DatasetNotFound."""
    a, missing = FS.snapshot("a"), FS.snapshot("missing")
    lzc = FakeLzc({b"tank/tm@a"}, set(), set())
    with pytest.raises(DatasetNotFound, match="missing"):
        LzcBackend(lzc=lzc).hold([a, missing], HoldTag("keep"))
    assert lzc.released == [{b"tank/tm@a": [b"keep"]}]


def test_kind_and_injected_module() -> None:
    """The backend reports kind 'lzc' and uses the module it is given."""
    assert LzcBackend(lzc=SimpleNamespace()).kind == "lzc"


def test_release_of_absent_tag_is_hold_not_found() -> None:
    """The kernel's ESRCH/ENOENT from a release means the tag is absent: HoldNotFound, not DatasetNotFound."""
    from zfstm.errors import HoldNotFound

    for number in (errno.ESRCH, errno.ENOENT):
        error = translate(ZFSError(number, "m", b"tank/a@s"), operation="release")
        assert isinstance(error, HoldNotFound)


def test_local_properties_children_and_space_go_through_the_cli() -> None:
    """libzfs_core cannot read properties, list or dry-run a destroy: those three ask the CLI backend."""
    calls: list[list[str]] = []

    def runner(argv: Sequence[str], *, timeout: float | None = None) -> Completed:
        calls.append(list(argv))
        out = {"get": "compression\tlz4\n", "list": "tank/tm\n", "destroy": "reclaim\t4096\n"}[argv[1]]
        return Completed(tuple(argv), 0, out, "")

    backend = LzcBackend(lzc=SimpleNamespace(), cli=CliBackend(runner=runner))
    assert backend.local_properties(FS) == {"compression": "lz4"}
    assert backend.has_children(FS) is False
    assert backend.reclaimable_space([FS.snapshot("a")]) == 4096
    assert [c[1] for c in calls] == ["get", "list", "destroy"]
