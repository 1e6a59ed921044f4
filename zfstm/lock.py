"""One zfstm run per target at a time, with a lock that cannot go stale.

The lock is ``flock(LOCK_EX | LOCK_NB)`` on a file in the run directory. The kernel drops it when the holder's last
descriptor closes, including when the holder is killed with SIGKILL, so there is no stale-lock cleanup and no
"remove this file if you are sure" advice. The file also records the holder's pid, only so that a second taker can
say who is busy; the pid is never used to decide anything.

Lock files are never unlinked: removing a locked file would let the next taker lock a fresh inode while the old
holder still runs, and two runs would each believe they were alone.

Every zfstm process on a host must resolve the same run directory, or the lock means nothing: the services, the
timer and an administrator's shell all use the platform default unless ``ZFSTM_RUN_DIR`` (or an explicit
directory) says otherwise. See docs/services.md.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import attrs

from zfstm.errors import BusyError, EnvironmentMissing

#: Linux: a tmpfs that systemd's ``RuntimeDirectory=zfstm`` creates for the service user.
LINUX_RUN_DIR = Path("/run/zfstm")
#: illumos/SmartOS: /var persists and the service user can own a directory there; /var/run is root-only and
#: emptied at boot, so a non-root SMF service could not create its lock directory in it (docs/services.md).
SUNOS_RUN_DIR = Path("/var/zfstm/run")
RUN_DIR_ENV = "ZFSTM_RUN_DIR"


def system_run_dir(platform: str = sys.platform) -> Path:
    """The run directory every zfstm process on this kind of host shares by default."""
    return SUNOS_RUN_DIR if platform.startswith("sunos") else LINUX_RUN_DIR


def resolve_run_dir(
    explicit: Path | None, environ: Mapping[str, str], *, euid: int, platform: str = sys.platform
) -> Path:
    """Pick the lock directory: explicit > $ZFSTM_RUN_DIR > system dir (root, services) > $XDG_RUNTIME_DIR/zfstm.

    A non-root user with a login session (XDG_RUNTIME_DIR set) gets a private directory, which is right for ad-hoc
    runs on pools only they touch; services run without XDG_RUNTIME_DIR and land in the shared system directory.
    """
    if explicit is not None:
        return explicit
    if environ.get(RUN_DIR_ENV):
        return Path(environ[RUN_DIR_ENV])
    xdg = environ.get("XDG_RUNTIME_DIR")
    if euid != 0 and xdg:
        return Path(xdg) / "zfstm"
    return system_run_dir(platform)


def lock_file_name(target: str) -> str:
    """A file name for a target that is injective and safe: '/' and every unusual byte are %-escaped."""
    if not target:
        raise ValueError("a lock needs a target name")
    return f"target-{quote(target, safe='')}.lock"


@attrs.frozen
class HeldLock:
    """A lock this process holds; ``release()`` (or leaving the ``with`` block) gives it back."""

    target: str
    path: Path
    fd: int

    def release(self) -> None:
        """Close the descriptor: the kernel drops the flock. The file stays (see the module docstring)."""
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def acquire(target: str, run_dir: Path) -> HeldLock:
    """Take the target's lock without waiting; BusyError (exit 5) names the holder's pid when another run has it."""
    path = run_dir / lock_file_name(target)
    _ensure_dir(run_dir, target)
    fd, writable = _open_lock_file(path, target)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = _read_pid(fd)
        os.close(fd)
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise EnvironmentMissing(f"lock {path} for target {target!r}: flock failed: {exc.strerror}") from exc
        who = f"pid {holder}" if holder is not None else "a process whose pid is not recorded yet"
        raise BusyError(
            f"target {target!r} is busy: another zfstm run ({who}) holds {path}; "
            "wait for it to finish and try again (the lock goes away by itself when that process ends)"
        ) from None
    if writable:
        _write_pid(fd, os.getpid())
    return HeldLock(target=target, path=path, fd=fd)


@contextlib.contextmanager
def target_lock(target: str, run_dir: Path) -> Iterator[HeldLock]:
    """``with target_lock("tm", run_dir):`` — hold the target's lock for the block, raise BusyError if taken."""
    held = acquire(target, run_dir)
    try:
        yield held
    finally:
        held.release()


def _ensure_dir(run_dir: Path, target: str) -> None:
    try:
        run_dir.mkdir(mode=0o770, parents=True, exist_ok=True)
    except OSError as exc:
        raise EnvironmentMissing(
            f"cannot create the lock directory {run_dir} for target {target!r}: {exc.strerror}; create it for the "
            f"zfstm user or set {RUN_DIR_ENV} (docs/services.md)"
        ) from exc


def _open_lock_file(path: Path, target: str) -> tuple[int, bool]:
    """Open read-write (to record our pid) or, for a file another user created, read-only: flock works on both."""
    flags = os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, os.O_RDWR | flags, 0o664)
    except PermissionError:
        pass
    except OSError as exc:
        raise EnvironmentMissing(f"cannot open lock file {path} for target {target!r}: {exc.strerror}") from exc
    else:
        return fd, True
    try:
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), False
    except OSError as exc:
        raise EnvironmentMissing(
            f"cannot open lock file {path} for target {target!r}: {exc.strerror}; give the zfstm user access to "
            f"{path.parent}"
        ) from exc


def _write_pid(fd: int, pid: int) -> None:
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{pid}\n".encode(), 0)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
