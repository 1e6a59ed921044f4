"""Facts about OpenZFS and pyzfs that the backend layer relies on, checked on the real thing (testbed only).

If one of these fails after an OpenZFS upgrade, the backend's assumptions (and docs/zfs-backend.md) need review.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zfstm.zfs import DatasetName, lzc_available, open_backend
from zfstm.zfs.lzc import LzcBackend

pytestmark = pytest.mark.integration


def zfs(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["zfs", *args], capture_output=True, text=True, check=check, env={**os.environ, "LC_ALL": "C"}
    )


@pytest.fixture
def lzc() -> Any:
    import libzfs_core

    return libzfs_core


@pytest.fixture
def fs() -> Iterator[str]:
    name = f"tank/facts-{uuid.uuid4().hex[:8]}"
    zfs("create", name)
    yield name
    listed = zfs("list", "-H", "-o", "name", "-t", "snapshot", "-r", name, check=False).stdout.split("\n")
    if any(listed):
        for line in zfs("holds", "-H", *filter(None, listed), check=False).stdout.splitlines():
            snap, tag, _ = line.split("\t", 2)
            zfs("release", tag, snap, check=False)
    zfs("destroy", "-R", "-f", name, check=False)


def snaps(fs: str) -> list[str]:
    out = zfs("list", "-H", "-o", "name", "-t", "snapshot", "-s", "createtxg", "-d", "1", fs).stdout
    return [line.split("@", 1)[1] for line in out.splitlines()]


def test_auto_backend_is_lzc_in_the_testbed() -> None:
    """With pyzfs and /dev/zfs present, open_backend('auto') picks libzfs_core."""
    assert lzc_available() is None
    assert isinstance(open_backend(), LzcBackend)


def test_lzc_destroy_snaps_is_all_or_nothing_and_ignores_missing(lzc: Any, fs: str) -> None:
    """One held snapshot fails the whole lzc_destroy_snaps batch; missing names alone are silently ignored."""
    for short in ("a", "b", "c"):
        lzc.lzc_snapshot([f"{fs}@{short}".encode()])
    lzc.lzc_hold({f"{fs}@b".encode(): b"keep"}, None)
    with pytest.raises(lzc.exceptions.SnapshotDestructionFailure) as failure:
        lzc.lzc_destroy_snaps([f"{fs}@{s}".encode() for s in ("a", "b", "c")], False)
    assert [type(e).__name__ for e in failure.value.errors] == ["SnapshotIsHeld"]
    assert snaps(fs) == ["a", "b", "c"]
    lzc.lzc_destroy_snaps([f"{fs}@a".encode(), f"{fs}@missing".encode()], False)
    assert snaps(fs) == ["b", "c"]


def test_lzc_cannot_list(lzc: Any, fs: str) -> None:
    """pyzfs cannot list snapshots (why listing goes through the CLI)."""
    with pytest.raises(NotImplementedError):
        lzc.lzc_list_snaps(fs.encode())


def test_hold_with_cleanup_fd_goes_away_when_fd_closes(lzc: Any, fs: str) -> None:
    """A hold placed with a cleanup fd (/dev/zfs) disappears when that fd is closed: a crash-safe lock."""
    snap = f"{fs}@locked".encode()
    lzc.lzc_snapshot([snap])
    fd = os.open("/dev/zfs", os.O_RDWR | os.O_EXCL)
    try:
        lzc.lzc_hold({snap: b"lock"}, fd)
        assert list(lzc.lzc_get_holds(snap)) == [b"lock"]
    finally:
        os.close(fd)
    assert lzc.lzc_get_holds(snap) == {}


def test_zfs_hold_cli_is_not_atomic(fs: str) -> None:
    """`zfs hold tag a b` holds a even when b is missing: the CLI backend must check first (it does)."""
    zfs("snapshot", f"{fs}@a")
    done = zfs("hold", "keep", f"{fs}@a", f"{fs}@missing", check=False)
    assert done.returncode != 0
    assert "keep" in zfs("holds", "-H", f"{fs}@a").stdout


def test_rollback_to_restores_a_mounted_filesystem(lzc: Any, fs: str) -> None:
    """lzc_rollback_to on a mounted filesystem shows the old contents at the mountpoint without a remount."""
    path = Path(zfs("get", "-H", "-o", "value", "mountpoint", fs).stdout.strip()) / "f"
    path.write_text("old")
    lzc.lzc_snapshot([f"{fs}@s".encode()])
    path.write_text("new")
    lzc.lzc_rollback_to(fs.encode(), f"{fs}@s".encode())
    assert path.read_text() == "old"


def test_snapshot_user_property_not_inherited_from_filesystem(fs: str) -> None:
    """A user property set on the filesystem shows on its snapshots as inherited, not local (so it is not listed)."""
    zfs("set", "zfstm:label=fs-level", fs)
    zfs("snapshot", f"{fs}@s")
    line = zfs("get", "-H", "-o", "value,source", "zfstm:label", f"{fs}@s").stdout.strip()
    _value, source = line.split("\t")
    assert source != "local"
    (info,) = open_backend().list_snapshots(DatasetName(fs), user_props=["zfstm:label"])
    assert dict(info.user_props) == {}
