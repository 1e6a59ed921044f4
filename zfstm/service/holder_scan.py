"""Gather who holds what under some directories, per platform (shell side of :mod:`zfstm.service.holders`).

A scanner is a callable from watched directories to :class:`~zfstm.service.holders.Holder` values. Processes that
vanish during a scan are skipped; a file-server process that cannot be inspected (not root) is reported as a
holder of unknown paths, because "could not look" must never read as "nothing there".
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import attrs

from zfstm.command import Runner
from zfstm.errors import FileServerError
from zfstm.netatalk.appledb import probe_lock
from zfstm.runner import run_command
from zfstm.service.holders import (
    Holder,
    command_name,
    fuser_argv,
    holders_from_links,
    mapped_paths,
    parse_fuser,
    parse_ps,
    ps_argv,
    wanted,
)

Scanner = Callable[[Sequence[Path]], tuple[Holder, ...]]

#: Where cnid_dbd's lock file may sit, relative to a watched directory (the db dir itself, or its parent).
CNID_DB_DIRS = (".", ".AppleDB")


def lock_holders(directories: Sequence[Path], exclude_pids: frozenset[int]) -> tuple[tuple[int, Path], ...]:
    """``(pid, lock file)`` for every fcntl lock on a ``lock`` file in, or in ``.AppleDB`` below, a watched dir.

    Uses the F_GETLK probe of :mod:`zfstm.netatalk.appledb` (read-only, never locks). A lock file that exists but
    cannot be probed is an error: "could not look" must not read as "nobody holds it".
    """
    found: list[tuple[int, Path]] = []
    for directory in directories:
        if directory.exists() and not directory.is_dir():
            continue  # a watched device or file (an NBD export's zvol) has no CNID database inside
        for relative in CNID_DB_DIRS:
            db_dir = directory / relative
            try:
                holder = probe_lock(db_dir)
            except OSError as exc:
                raise FileServerError(
                    f"cannot probe the CNID lock in {db_dir}: {exc.strerror}; run as root to stop the file server"
                ) from exc
            if holder is not None and holder.pid not in exclude_pids:
                found.append((holder.pid, db_dir / "lock"))
    return tuple(found)


@attrs.frozen
class LinuxProcScan:
    """Scan ``/proc``: fd targets, cwd, root and mapped files of every wanted process, plus CNID lock owners."""

    names: frozenset[str] | None
    proc_root: Path = Path("/proc")
    exclude_pids: frozenset[int] = attrs.field(factory=lambda: frozenset({os.getpid()}))

    def __call__(self, directories: Sequence[Path]) -> tuple[Holder, ...]:
        dirs = [os.path.normpath(str(d)) for d in directories]
        found: set[Holder] = set()
        for pid in self._pids():
            found.update(self._scan_one(pid, dirs))
        for owner, lock in lock_holders(directories, self.exclude_pids):
            found.add(Holder(pid=owner, command=self._comm(owner) or "?", path=str(lock), how="fcntl lock"))
        return tuple(sorted(found))

    def _pids(self) -> Iterator[int]:
        for entry in self.proc_root.iterdir():
            if entry.name.isdigit() and int(entry.name) not in self.exclude_pids:
                yield int(entry.name)

    def _comm(self, pid: int) -> str | None:
        try:
            return (self.proc_root / str(pid) / "comm").read_text().strip()
        except OSError:
            return None

    def _scan_one(self, pid: int, dirs: list[str]) -> tuple[Holder, ...]:
        command = self._comm(pid)
        if command is None or not wanted(command, self.names):
            return ()
        base = self.proc_root / str(pid)
        links: list[tuple[str, str]] = []
        denied = False
        for how, link in (("cwd", base / "cwd"), ("root", base / "root")):
            try:
                links.append((how, str(link.readlink())))
            except PermissionError:
                denied = True
            except OSError:
                pass
        try:
            for fd in (base / "fd").iterdir():
                try:
                    links.append((f"fd {fd.name}", str(fd.readlink())))
                except OSError:
                    continue
        except PermissionError:
            denied = True
        except OSError:
            return ()  # the process ended during the scan
        try:
            links.extend(("mmap", path) for path in mapped_paths((base / "maps").read_text()))
        except PermissionError:
            denied = True
        except OSError:
            pass
        found = holders_from_links(pid, command, links, dirs)
        if denied and self.names is not None:
            unknown = Holder(pid=pid, command=command, path="?", how="not inspectable without root")
            return (*found, unknown)
        return found


@attrs.frozen
class FuserScan:
    """illumos/SmartOS: ``fuser -c`` for mount points, ``fuser`` on each file of other directories, ``ps`` for names.

    fuser reports the whole file system for a mount point, which is what a share on its own dataset is; a CNID
    database directory that is not a mount point is checked file by file (``cnid2.db``, ``lock``, ``__db.*``...).
    """

    names: frozenset[str] | None
    runner: Runner = run_command
    is_mount: Callable[[str], bool] = os.path.ismount
    list_dir: Callable[[str], list[str]] = os.listdir
    timeout: float = 30.0
    exclude_pids: frozenset[int] = attrs.field(factory=lambda: frozenset({os.getpid()}))

    def argvs(self, directory: str) -> tuple[tuple[str, ...], ...]:
        """The fuser command lines for one watched directory."""
        if self.is_mount(directory):
            return (fuser_argv(directory, mount_point=True),)
        try:
            entries = sorted(self.list_dir(directory))
        except OSError:
            entries = []
        base = Path(directory)
        files = [base, *(base / entry for entry in entries)]
        if ".AppleDB" in entries:
            files.extend(base / ".AppleDB" / entry for entry in sorted(self._safe_list(str(base / ".AppleDB"))))
        return tuple(fuser_argv(str(path), mount_point=False) for path in files)

    def _safe_list(self, directory: str) -> list[str]:
        try:
            return self.list_dir(directory)
        except OSError:
            return []

    def __call__(self, directories: Sequence[Path]) -> tuple[Holder, ...]:
        uses: dict[int, set[tuple[str, str]]] = {}
        for directory in directories:
            for argv in self.argvs(str(directory)):
                done = self.runner(argv, timeout=self.timeout)
                for pid, letters in parse_fuser(done.stdout):
                    if pid not in self.exclude_pids:
                        uses.setdefault(pid, set()).add((argv[-1], f"fuser {letters}".strip()))
        for owner, lock in lock_holders(directories, self.exclude_pids):
            uses.setdefault(owner, set()).add((str(lock), "fcntl lock"))
        if not uses:
            return ()
        names = parse_ps(self.runner(ps_argv(uses), timeout=self.timeout).stdout)
        found = {
            Holder(pid=pid, command=names.get(pid, "?"), path=path, how=how)
            for pid, paths in uses.items()
            for path, how in paths
            if pid not in names or wanted(command_name(names[pid]), self.names)
        }
        return tuple(sorted(found))


def default_scanner(names: frozenset[str] | None, platform: str = sys.platform) -> Scanner:
    """The scanner for this host: /proc on Linux, fuser + ps on illumos."""
    if platform.startswith("linux"):
        return LinuxProcScan(names=names)
    return FuserScan(names=names)
