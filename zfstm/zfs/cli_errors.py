"""The one place where the zfs command's stderr becomes typed exceptions and per-name destroy outcomes.

Why one place: the CLI reports errors only as English text ("cannot destroy snapshot tank/a@x: dataset is busy"),
and the same words mean different things per operation ("dataset is busy" is a hold when destroying a snapshot).
The CLI backend forces ``LC_ALL=C`` so these texts are stable; the table below was checked against OpenZFS 2.3.9
(libzfs_util.c ``zfs_standard_error`` and the messages in zfs_main.c) in the testbed; the unit tests
(tests/unit/zfs/test_cli_errors.py) quote the messages seen there.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterable

from zfstm.errors import (
    DatasetBusy,
    DatasetExists,
    DatasetNotFound,
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
from zfstm.zfs.names import SnapshotName
from zfstm.zfs.types import DestroyOutcome

#: Exit status of a shell (or ssh) whose command was not found.
COMMAND_NOT_FOUND = 127

#: What ``zfs destroy fs@a,b`` says when the dataset exists but none of the named snapshots does.
NOTHING_TO_DESTROY = "could not find any snapshots to destroy"

# (fragment of stderr, exception class), first match wins; fragments are lower case.
_RULES: tuple[tuple[str, type[ZfsError]], ...] = (
    ("permission denied", ZfsPermissionDenied),
    ("must be run as root", ZfsPermissionDenied),
    ("operation not permitted", ZfsPermissionDenied),
    ("more recent snapshots or bookmarks exist", SnapshotNotLatest),
    ("tag already exists on this dataset", HoldExists),
    ("no such tag on this dataset", HoldNotFound),
    ("snapshot is cloned", SnapshotCloned),
    ("has dependent clones", SnapshotCloned),
    ("does not exist", DatasetNotFound),
    (NOTHING_TO_DESTROY, DatasetNotFound),
    ("no such pool", DatasetNotFound),
    ("must be in the same pool", PoolsDiffer),
    ("cross-device", PoolsDiffer),
    ("invalid character", InvalidName),
    ("name is too long", InvalidName),
    ("is too long", InvalidName),
    ("invalid property", InvalidName),
    ("bad property list", InvalidName),
    ("multiple snapshots of same fs not allowed", InvalidName),
    ("can not be modified for snapshots", InvalidName),
    ("being held", SnapshotHeld),
    ("is busy", DatasetBusy),
    ("has children", DatasetBusy),
)

_HOLD_HINTS = ("dataset is busy", "being held", "is held", "user hold")
_CLONE_HINTS = ("snapshot is cloned", "dependent clones")


def _reason(stderr: str) -> str:
    """The useful part of zfs's message: its non-empty lines joined, without the 'cannot X:' boilerplate."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return "; ".join(lines) if lines else "zfs failed without a message"


def killed_by(returncode: int) -> str | None:
    """The signal's name when the command was killed by one (``subprocess`` gives -N), else None."""
    if returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def error_from_stderr(stderr: str, *, returncode: int, operation: str, dataset: str = "") -> ZfstmError:
    """The exception for a failed zfs command, chosen by operation and message (EnvironmentMissing: no zfs).

    A zfs killed by a signal may or may not have acted (the kernel finishes an ioctl it started): the message says
    so, and the caller looks again where it can (destroy does)."""
    text = stderr.lower()
    message = _reason(stderr)
    signal_name = killed_by(returncode)
    if signal_name is not None:
        return ZfsError(
            f"zfs was killed by {signal_name}; it may or may not have acted: look with `zfs list -t all` and run again",
            dataset=dataset,
            operation=operation,
        )
    if returncode == COMMAND_NOT_FOUND and "not found" in text:
        return EnvironmentMissing(
            f"the zfs command was not found ({message}); install zfsutils or check PATH / the command prefix"
        )
    if "already exists" in text and "tag already exists" not in text:
        is_snapshot = operation == "snapshot" or "@" in dataset
        cls: type[ZfsError] = SnapshotExists if is_snapshot else DatasetExists
        return cls(message, dataset=dataset, operation=operation)
    if operation == "destroy" and "@" in dataset and "dataset is busy" in text:
        return SnapshotHeld(
            message + " (a user hold protects it; see 'zfs holds')", dataset=dataset, operation=operation
        )
    for fragment, exception in _RULES:
        if fragment in text:
            return exception(message, dataset=dataset, operation=operation)
    return ZfsError(message, dataset=dataset, operation=operation)


def destroy_refusals(stderr: str, batch: Iterable[SnapshotName]) -> dict[SnapshotName, tuple[DestroyOutcome, str]]:
    """Per-name refusals from ``zfs destroy fs@a,b,c``, for the names of ``batch``.

    zfs 2.3.9 says ``cannot destroy snapshot NAME: it's being held. Run 'zfs holds -r NAME' to see holders.`` for a
    held snapshot, and ``cannot destroy 'NAME': snapshot has dependent clones`` (followed by the clones) for a cloned
    one; the clone check happens before anything is destroyed and stops at the first cloned name. Names are
    matched against the batch, not parsed, because snapshot names may contain ':' and spaces. Lines naming none of
    the batch are ignored; the caller treats an error without any named refusal as a whole failure.
    """
    by_full = sorted((name.full for name in batch), key=len, reverse=True)
    lookup = {name.full: name for name in batch}
    refusals: dict[SnapshotName, tuple[DestroyOutcome, str]] = {}
    for raw in stderr.splitlines():
        line = raw.strip()
        if not line.startswith("cannot destroy"):
            continue
        for full in by_full:
            for marker in (f" {full}: ", f" '{full}': "):
                at = line.find(marker)
                if at >= 0:
                    break
            else:
                continue
            reason = line[at + len(marker) :].strip()
            lowered = reason.lower()
            if any(hint in lowered for hint in _HOLD_HINTS):
                outcome = DestroyOutcome.HELD
            elif any(hint in lowered for hint in _CLONE_HINTS):
                outcome = DestroyOutcome.CLONED
            else:
                outcome = DestroyOutcome.FAILED
            refusals[lookup[full]] = (outcome, reason)
            break
    return refusals


def nothing_to_destroy(stderr: str) -> bool:
    """True when zfs refused a (dry-run) destroy only because none of the named snapshots exists."""
    return NOTHING_TO_DESTROY in stderr.lower()


_QUOTED_NAME = re.compile(r"'(?P<name>[^'@]+@[^']+)'")


def failed_names(stderr: str) -> set[SnapshotName]:
    """Snapshot names quoted in 'cannot hold/release/open 'NAME': ...' lines, i.e. the ones that failed."""
    names: set[SnapshotName] = set()
    for line in stderr.splitlines():
        if not line.startswith("cannot"):
            continue
        for match in _QUOTED_NAME.finditer(line):
            try:
                names.add(SnapshotName.parse(match["name"]))
            except InvalidName:
                continue
    return names
