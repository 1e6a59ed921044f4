"""The ZFS backend layer: typed names, one backend interface, and its libzfs_core, CLI and fake implementations.

Use :func:`open_backend` to get a :class:`ZfsBackend`; see docs/zfs-backend.md for the interface, the exception
mapping, and what libzfs_core cannot do.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

from zfstm.errors import PyzfsMissing, UsageError
from zfstm.zfs import lzc_import
from zfstm.zfs.backend import ZfsBackend
from zfstm.zfs.names import DatasetName, HoldTag, SnapshotName, ZfsName, parse_name
from zfstm.zfs.prefix import CommandPrefix
from zfstm.zfs.types import DestroyOutcome, DestroyReport, DestroyResult, SnapshotInfo, SnapshotProperty

__all__ = [
    "BackendKind",
    "CommandPrefix",
    "DatasetName",
    "DestroyOutcome",
    "DestroyReport",
    "DestroyResult",
    "HoldTag",
    "SnapshotInfo",
    "SnapshotName",
    "SnapshotProperty",
    "ZfsBackend",
    "ZfsName",
    "lzc_available",
    "open_backend",
    "parse_name",
]

BackendKind = Literal["auto", "lzc", "cli", "fake"]

ZFS_DEVICE = "/dev/zfs"


def lzc_available() -> str | None:
    """None when libzfs_core can be used here, else the reason it cannot (for messages and 'auto').

    Only looks for the module: the libzfs_core backend imports it in the background (see lzc_import), and a
    module that is there but fails to import raises PyzfsMissing on the first libzfs_core call.
    """
    if not lzc_import.installed():
        return (
            "pyzfs (import libzfs_core) is not installed; install the OS package python3-pyzfs "
            "(never the unrelated PyPI project 'pyzfs'), or use the CLI backend"
        )
    try:
        fd = os.open(ZFS_DEVICE, os.O_RDWR)
    except OSError as exc:
        return f"{ZFS_DEVICE} cannot be opened ({exc.strerror}): the ZFS kernel module is not loaded here"
    os.close(fd)
    return None


def open_backend(kind: BackendKind = "auto", prefix: CommandPrefix | Sequence[str] = ()) -> ZfsBackend:
    """Pick a backend: ``auto`` uses libzfs_core when it imports and /dev/zfs opens, else the zfs CLI.

    A ``prefix`` (e.g. ``["ssh", "host"]``, or a :class:`CommandPrefix`) means ZFS is reached through another
    command, which only the CLI backend can do. ``lzc`` raises PyzfsMissing when libzfs_core is unusable.
    """
    command_prefix = CommandPrefix.coerce(prefix)
    if kind == "fake":
        from zfstm.zfs.fake import FakeBackend

        return FakeBackend()
    if kind == "cli" or (kind == "auto" and not command_prefix.is_local):
        from zfstm.zfs.cli import CliBackend

        return CliBackend(command_prefix)
    if kind not in {"auto", "lzc"}:
        raise UsageError(f"unknown ZFS backend {kind!r}; choose auto, lzc, cli or fake")
    if not command_prefix.is_local:
        raise UsageError("the lzc backend talks to the local kernel and cannot use a command prefix; use 'cli'")
    reason = lzc_available()
    if reason is None:
        from zfstm.zfs.lzc import LzcBackend

        return LzcBackend()
    if kind == "lzc":
        raise PyzfsMissing(reason)
    from zfstm.zfs.cli import CliBackend

    return CliBackend(command_prefix)
