"""Which processes still hold a share or its CNID database: values and parsers (pure).

After a file server is stopped, zfstm must know that no afpd, cnid_dbd (or smbd) still has a file open, a working
directory, a memory mapping or a lock under the share or the database directory: rolling a dataset back under an
open Berkeley DB environment can corrupt it. The scanners that gather the raw observations live in
:mod:`zfstm.service.holder_scan`; everything here takes values and returns values.

Linux: ``/proc/PID/{fd/*,cwd,root,maps}`` give paths directly. illumos: ``fuser -c MOUNTPOINT`` lists processes
using anything in a mounted file system, ``fuser FILE`` those using one file; ``ps -o pid= -o comm= -p LIST`` names
them (``pfiles PID`` shows the paths, for a human).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath

import attrs


@attrs.frozen(order=True)
class Holder:
    """One process holding something under a watched directory, and how (fd, cwd, root, mmap, lock, fuser...)."""

    pid: int
    command: str
    path: str
    how: str

    def describe(self) -> str:
        return f"pid {self.pid} ({self.command}) holds {self.path} ({self.how})"


def describe_holders(holders: Sequence[Holder], limit: int = 10) -> str:
    """A one-line list for error messages, shortened after ``limit`` entries."""
    shown = "; ".join(holder.describe() for holder in sorted(set(holders))[:limit])
    more = len(set(holders)) - limit
    return shown + (f"; and {more} more" if more > 0 else "")


def is_under(path: str, directories: Iterable[str]) -> str | None:
    """The watched directory that contains ``path`` (or equals it), compared component-wise; None if none does."""
    candidate = PurePosixPath(_strip_deleted(path))
    for directory in directories:
        base = PurePosixPath(directory)
        if candidate == base or base in candidate.parents:
            return directory
    return None


def _strip_deleted(path: str) -> str:
    """Linux marks links to unlinked files with a " (deleted)" suffix; the path they had still tells us where."""
    return path.removesuffix(" (deleted)")


def holders_from_links(
    pid: int, command: str, links: Iterable[tuple[str, str]], directories: Sequence[str]
) -> tuple[Holder, ...]:
    """Holders for one process from its ``(how, path)`` observations (fd targets, cwd, root, mapped files)."""
    found = {
        Holder(pid=pid, command=command, path=_strip_deleted(path), how=how)
        for how, path in links
        if path.startswith("/") and is_under(path, directories) is not None
    }
    return tuple(sorted(found))


def mapped_paths(maps_text: str) -> tuple[str, ...]:
    """File paths mapped into a process, from the text of ``/proc/PID/maps`` (6th column, when it is a path)."""
    paths: set[str] = set()
    for line in maps_text.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].startswith("/"):
            paths.add(fields[5])
    return tuple(sorted(paths))


def fuser_argv(path: str, *, mount_point: bool) -> tuple[str, ...]:
    """illumos fuser: ``-c`` reports every use of the file system mounted at ``path``; without it, of that file."""
    return ("fuser", "-c", path) if mount_point else ("fuser", path)


_FUSER_ENTRY = re.compile(r"(\d+)([a-zA-Z]*)")


def parse_fuser(stdout: str) -> tuple[tuple[int, str], ...]:
    """``(pid, usage letters)`` from fuser's stdout (pids, each maybe followed by c/o/r/t/m/y/... letters).

    fuser writes the file name and colon to stderr, the pids to stdout; when both were merged, the ``path:``
    prefix is skipped.
    """
    text = stdout.rsplit(":", 1)[-1] if ":" in stdout else stdout
    return tuple((int(pid), letters) for pid, letters in _FUSER_ENTRY.findall(text))


def ps_argv(pids: Iterable[int]) -> tuple[str, ...]:
    """``ps -o pid= -o comm= -p 1,2,3``: names for a set of pids, without a header (POSIX options)."""
    return ("ps", "-o", "pid=", "-o", "comm=", "-p", ",".join(str(pid) for pid in sorted(set(pids))))


def parse_ps(stdout: str) -> dict[int, str]:
    """``{pid: command}`` from ``ps -o pid= -o comm=`` output; the command is the last path component."""
    names: dict[int, str] = {}
    for line in stdout.splitlines():
        fields = line.split(maxsplit=1)
        if len(fields) == 2 and fields[0].isdigit():
            names[int(fields[0])] = PurePosixPath(fields[1].strip()).name
    return names


def command_name(comm_or_argv0: str) -> str:
    """The bare program name, as it is compared with NETATALK_PROCESSES (``/usr/sbin/afpd`` -> ``afpd``).

    Samba's smbd names the process serving a client ``smbd[ADDRESS]`` (seen in /proc/PID/comm with Samba 4.22,
    cut to 15 characters, e.g. ``smbd[192.168.10``): that is ``smbd``, the process that holds the share's files.
    """
    return PurePosixPath(comm_or_argv0.strip()).name.split("[", 1)[0]


def wanted(command: str, names: frozenset[str] | None) -> bool:
    """Whether a process counts: every process when ``names`` is None, else only the named programs."""
    return names is None or command_name(command) in names
