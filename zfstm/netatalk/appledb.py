"""The ``.AppleDB`` directory of one volume: which files are data, which are disposable, and who holds it.

cnid_dbd's own wipe (``delete_db`` in ``etc/cnid_dbd/main.c``, the string is visible in the 4.2.3 binary) runs
``rm -f cnid2.db lock log.* __db.*``: the Berkeley DB environment (``__db.NNN`` regions, ``log.NNNNNNNNNN``
transaction logs) and the ``lock`` file are recreated on start, so they are disposable *after a clean stop* (which
removes ``__db.*`` itself; after a crash the log may still hold committed changes that cnid2.db lacks).
``cnid2.db`` (all records) and ``db_param`` (tuning, written by the admin) are data. ``db_errlog`` is Berkeley DB's
error log: keep it, it explains failures.

The lock probe asks the kernel (``fcntl(F_GETLK)``) who holds a lock on ``lock``: cnid_dbd holds a write lock there
for as long as it has the environment open, so "no holder" means the files are quiet.
"""

from __future__ import annotations

import enum
import fcntl
import os
import struct
import sys
from collections.abc import Iterable
from pathlib import Path

import attrs

APPLEDB = ".AppleDB"
LOCK_FILE = "lock"
DATA_FILES = frozenset({"cnid2.db", "db_param"})
DIAGNOSTIC_FILES = frozenset({"db_errlog"})


class FileRole(enum.Enum):
    DATA = "data"
    DISPOSABLE = "disposable"
    DIAGNOSTIC = "diagnostic"
    UNKNOWN = "unknown"


def classify(name: str) -> FileRole:
    """The role of one file name in ``.AppleDB`` (pure; matches cnid_dbd's ``rm -f cnid2.db lock log.* __db.*``
    except that cnid2.db is data, not disposable)."""
    if name in DATA_FILES:
        return FileRole.DATA
    if name == LOCK_FILE or name.startswith(("log.", "__db.")):
        return FileRole.DISPOSABLE
    if name in DIAGNOSTIC_FILES:
        return FileRole.DIAGNOSTIC
    return FileRole.UNKNOWN


@attrs.frozen
class AppleDbListing:
    """The files of one ``.AppleDB`` directory, sorted by role."""

    directory: str
    data: tuple[str, ...]
    disposable: tuple[str, ...]
    diagnostic: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def has_database(self) -> bool:
        return "cnid2.db" in self.data


def classify_listing(directory: str, names: Iterable[str]) -> AppleDbListing:
    groups: dict[FileRole, list[str]] = {role: [] for role in FileRole}
    for name in sorted(names):
        groups[classify(name)].append(name)
    return AppleDbListing(
        directory=directory,
        data=tuple(groups[FileRole.DATA]),
        disposable=tuple(groups[FileRole.DISPOSABLE]),
        diagnostic=tuple(groups[FileRole.DIAGNOSTIC]),
        unknown=tuple(groups[FileRole.UNKNOWN]),
    )


@attrs.frozen
class LockHolder:
    """A process holding a lock on ``.AppleDB/lock``; ``exclusive`` is True for a write lock (cnid_dbd)."""

    pid: int
    exclusive: bool


# ---- shell -----------------------------------------------------------------------------------------------------


def list_appledb(directory: Path) -> AppleDbListing:
    return classify_listing(str(directory), (e.name for e in os.scandir(directory) if not e.is_dir()))


def _flock_struct() -> tuple[str, int]:
    """(struct format, pid field index) of ``struct flock`` on this platform."""
    if sys.platform.startswith("sunos"):
        # short l_type, l_whence; off_t l_start, l_len; int l_sysid; pid_t l_pid; long l_pad[4]
        return "@hhqqii4q", 5
    if sys.platform.startswith(("freebsd", "darwin", "netbsd", "openbsd")):
        # off_t l_start, l_len; pid_t l_pid; short l_type, l_whence; (FreeBSD: int l_sysid)
        return "@qqihhi", 2
    # Linux: short l_type, l_whence; off_t l_start, l_len; pid_t l_pid
    return "@hhqqi4x", 4


def probe_lock(directory: Path) -> LockHolder | None:
    """Who holds a lock on ``<directory>/lock`` right now, or None. Opens the file read-only; never locks it."""
    path = directory / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    try:
        fmt, pid_index = _flock_struct()
        if pid_index == 2:
            query = struct.pack(fmt, 0, 0, 0, fcntl.F_WRLCK, os.SEEK_SET, 0)
        elif pid_index == 5:
            query = struct.pack(fmt, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0, 0, 0, 0, 0, 0)
        else:
            query = struct.pack(fmt, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        answer = struct.unpack(fmt, fcntl.fcntl(fd, fcntl.F_GETLK, query))
    finally:
        os.close(fd)
    kind = answer[3] if pid_index == 2 else answer[0]
    if kind == fcntl.F_UNLCK:
        return None
    return LockHolder(pid=int(answer[pid_index]), exclusive=kind == fcntl.F_WRLCK)
