"""The ZFS backend layer: typed names, one backend interface, and its libzfs_core, CLI and fake implementations.

Use :func:`open_backend` to get a :class:`ZfsBackend`; see docs/zfs-backend.md for the interface, the exception
mapping, and what libzfs_core cannot do.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Literal

import attrs

from zfstm.errors import PyzfsMissing, UsageError
from zfstm.zfs import lzc_import
from zfstm.zfs.backend import ZfsBackend
from zfstm.zfs.names import DatasetName, HoldTag, SnapshotName, ZfsName, parse_name
from zfstm.zfs.prefix import CommandPrefix
from zfstm.zfs.types import DestroyOutcome, DestroyReport, DestroyResult, SnapshotInfo, SnapshotProperty

__all__ = [
    "BackendChoice",
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
    "choose_backend",
    "lzc_available",
    "open_backend",
    "open_backend_explained",
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


#: What each implementation is called in logs, `zfstm status` and its JSON.
BACKEND_LABELS = {"lzc": "libzfs_core (pyzfs)", "cli": "the zfs command", "fake": "the in-memory fake"}


@attrs.frozen
class BackendChoice:
    """Which backend ``kind`` ("lzc", "cli", "fake") serves, and why (the configured kind, or what ``auto`` found)."""

    kind: str
    reason: str

    @property
    def label(self) -> str:
        return BACKEND_LABELS.get(self.kind, self.kind)

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "label": self.label, "reason": self.reason}


def choose_backend(
    kind: BackendKind, prefix: CommandPrefix, *, lzc_reason: Callable[[], str | None] = lzc_available
) -> BackendChoice:
    """The decision of :func:`open_backend`, as a value. ``lzc_reason`` is asked only when ``auto`` needs it.

    Raises UsageError for an unknown kind or lzc with a prefix, PyzfsMissing for lzc where it cannot work.
    """
    if kind == "fake":
        return BackendChoice("fake", 'configured: kind = "fake"')
    if kind == "cli":
        via = "" if prefix.is_local else f" through `{' '.join(prefix.argv)}`"
        return BackendChoice("cli", f'configured: kind = "cli"{via}')
    if kind not in {"auto", "lzc"}:
        raise UsageError(f"unknown ZFS backend {kind!r}; choose auto, lzc, cli or fake")
    if not prefix.is_local:
        if kind == "lzc":
            raise UsageError("the lzc backend talks to the local kernel and cannot use a command prefix; use 'cli'")
        return BackendChoice("cli", f"auto: the prefix `{' '.join(prefix.argv)}` can only run the zfs command")
    reason = lzc_reason()
    if reason is None:
        found = "pyzfs (libzfs_core) imports and /dev/zfs opens"
        return BackendChoice("lzc", f'configured: kind = "lzc"; {found}' if kind == "lzc" else f"auto: {found}")
    if kind == "lzc":
        raise PyzfsMissing(reason)
    return BackendChoice("cli", f"auto: {reason}")


def open_backend_explained(
    kind: BackendKind = "auto", prefix: CommandPrefix | Sequence[str] = ()
) -> tuple[ZfsBackend, BackendChoice]:
    """:func:`open_backend` and the reason for its choice (for the start-up log and `zfstm status`)."""
    command_prefix = CommandPrefix.coerce(prefix)
    choice = choose_backend(kind, command_prefix)
    if choice.kind == "fake":
        from zfstm.zfs.fake import FakeBackend

        return FakeBackend(), choice
    if choice.kind == "lzc":
        from zfstm.zfs.lzc import LzcBackend

        return LzcBackend(), choice
    from zfstm.zfs.cli import CliBackend

    return CliBackend(command_prefix), choice


def open_backend(kind: BackendKind = "auto", prefix: CommandPrefix | Sequence[str] = ()) -> ZfsBackend:
    """Pick a backend: ``auto`` uses libzfs_core when it imports and /dev/zfs opens, else the zfs CLI.

    A ``prefix`` (e.g. ``["ssh", "host"]``, or a :class:`CommandPrefix`) means ZFS is reached through another
    command, which only the CLI backend can do. ``lzc`` raises PyzfsMissing when libzfs_core is unusable.
    :func:`choose_backend` says why.
    """
    return open_backend_explained(kind, prefix)[0]
