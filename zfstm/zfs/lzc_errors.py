"""Translation of pyzfs (``libzfs_core``) exceptions into zfstm's exception tree, in one place.

pyzfs raises its own classes (``SnapshotExists``, ``SnapshotIsHeld``...) and, for batch calls, a
``MultipleOperationsFailure`` subclass whose ``.errors`` lists one exception per failed name. Mapping goes by class
name and errno so this module does not import pyzfs (it works, and is tested, on hosts without it).

Known pyzfs bugs handled here:
- ``_generic_exception`` swaps name and message, so ``ZFSGenericError.name`` may hold the message and vice versa;
  messages here are rebuilt from errno instead.
- ``lzc_rollback_to`` reports EAGAIN as ``SuspendedPool`` (the pool is fine; the dataset was busy): mapped to
  DatasetBusy with a "try again" message.
- ``lzc_destroy_snaps`` reports ENOENT as ``PoolNotFound``.
"""

from __future__ import annotations

import errno
import os

from zfstm.errors import (
    DatasetBusy,
    DatasetExists,
    DatasetNotFound,
    DuplicateSnapshots,
    EnvironmentMissing,
    HoldExists,
    HoldNotFound,
    InvalidName,
    PoolsDiffer,
    SnapshotCloned,
    SnapshotExists,
    SnapshotHeld,
    SnapshotNotLatest,
    ZfsError,
    ZfsPermissionDenied,
    ZfstmError,
)

_BY_CLASS: dict[str, type[ZfsError]] = {
    "SnapshotExists": SnapshotExists,
    "FilesystemExists": DatasetExists,
    "DatasetExists": DatasetExists,
    "DatasetNotFound": DatasetNotFound,
    "FilesystemNotFound": DatasetNotFound,
    "SnapshotNotFound": DatasetNotFound,
    "ParentNotFound": DatasetNotFound,
    "PoolNotFound": DatasetNotFound,
    "SnapshotIsHeld": SnapshotHeld,
    "SnapshotIsCloned": SnapshotCloned,
    "HoldExists": HoldExists,
    "HoldNotFound": HoldNotFound,
    "SnapshotNotLatest": SnapshotNotLatest,
    "PoolsDiffer": PoolsDiffer,
    "DuplicateSnapshots": DuplicateSnapshots,
    "NameInvalid": InvalidName,
    "NameTooLong": InvalidName,
    "SnapshotNameInvalid": InvalidName,
    "FilesystemNameInvalid": InvalidName,
    "PropertyInvalid": InvalidName,
    "SuspendedPool": DatasetBusy,
}

_BY_ERRNO: dict[int, type[ZfsError]] = {
    errno.EPERM: ZfsPermissionDenied,
    errno.EACCES: ZfsPermissionDenied,
    errno.ENOENT: DatasetNotFound,
    errno.EBUSY: DatasetBusy,
    errno.EXDEV: PoolsDiffer,
    errno.EAGAIN: DatasetBusy,
}


def _errno_of(exc: BaseException) -> int | None:
    value = getattr(exc, "errno", None)
    return value if isinstance(value, int) else None


def describe(exc: BaseException) -> str:
    """A readable reason: pyzfs's message when it looks like one, else the errno's text."""
    number = _errno_of(exc)
    reason = os.strerror(number) if number else ""
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message and "/" not in message and "@" not in message:
        reason = f"{message} ({reason})" if reason and reason not in message else message
    return reason or type(exc).__name__


def name_of(exc: BaseException) -> str | None:
    """The ZFS name an exception refers to, decoded (None when pyzfs did not give one)."""
    name = getattr(exc, "name", None)
    if isinstance(name, bytes):
        return name.decode(errors="replace")
    if isinstance(name, str) and ("/" in name or "@" in name):
        return name
    return None


def sub_errors(exc: BaseException) -> list[BaseException]:
    """The per-name errors of a batch failure (``.errors``), or the exception itself."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list | tuple) and errors:
        return [e for e in errors if isinstance(e, BaseException)]
    return [exc]


def translate(exc: BaseException, *, operation: str, dataset: str = "") -> ZfstmError:
    """The zfstm exception for a pyzfs exception (the first per-name error of a batch decides the class)."""
    if type(exc).__name__ == "ZFSInitializationFailed":
        if _errno_of(exc) in {errno.EACCES, errno.EPERM}:
            return ZfsPermissionDenied("cannot open /dev/zfs", dataset=dataset, operation=operation)
        return EnvironmentMissing(f"{operation} {dataset}: /dev/zfs cannot be opened ({describe(exc)})")
    errors = sub_errors(exc)
    first = errors[0]
    cls = _BY_CLASS.get(type(first).__name__)
    number = _errno_of(first)
    if number in {errno.EPERM, errno.EACCES}:
        cls = ZfsPermissionDenied
    if operation == "release" and number in {errno.ESRCH, errno.ENOENT} and cls in {None, DatasetNotFound}:
        cls = HoldNotFound  # the kernel says ESRCH (or ENOENT) for a tag that is not on the snapshot
    if cls is None:
        cls = _BY_ERRNO.get(number or 0, ZfsError)
    named = name_of(first) or dataset
    reason = describe(first)
    if type(first).__name__ == "SuspendedPool" and operation == "rollback":
        reason = "dataset is busy (pyzfs reports EAGAIN as a suspended pool); try again"
    if len(errors) > 1:
        others = [n for n in (name_of(e) for e in errors[1:]) if n]
        if others:
            reason += f" (also: {', '.join(others[:5])}{' ...' if len(others) > 5 else ''})"
    return cls(reason, dataset=named, operation=operation)
