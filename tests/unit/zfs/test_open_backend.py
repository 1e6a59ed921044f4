"""open_backend picks lzc only where it can work, the CLI otherwise, and refuses impossible combinations."""

from __future__ import annotations

import pytest

import zfstm.zfs
from zfstm.errors import PyzfsMissing, UsageError
from zfstm.zfs import CommandPrefix, open_backend
from zfstm.zfs.cli import CliBackend
from zfstm.zfs.fake import FakeBackend


def test_auto_without_pyzfs_or_dev_zfs_is_cli() -> None:
    """On a host without pyzfs or /dev/zfs, auto gives the CLI backend and lzc raises PyzfsMissing."""
    if zfstm.zfs.lzc_available() is None:
        pytest.skip("this machine can use libzfs_core")
    assert isinstance(open_backend(), CliBackend)
    with pytest.raises(PyzfsMissing):
        open_backend("lzc")


def test_prefix_means_cli() -> None:
    """A command prefix selects the CLI backend with that prefix; lzc with a prefix is a usage error."""
    backend = open_backend("auto", ["ssh", "nas"])
    assert isinstance(backend, CliBackend) and backend.prefix == CommandPrefix(("ssh", "nas"))
    with pytest.raises(UsageError):
        open_backend("lzc", ["ssh", "nas"])


def test_fake_kind() -> None:
    """kind='fake' gives an in-memory backend with pool tank."""
    backend = open_backend("fake")
    assert isinstance(backend, FakeBackend) and backend.exists(zfstm.zfs.DatasetName("tank"))
