"""Bookmarks beside snapshots: listed, never destroyed by zfstm.

A bookmark (``pool/fs#mark``) remembers a snapshot's place in history after the snapshot is gone, so a replication
engine can still send an incremental from it: zrepl keeps its replication cursor as one (``#zrepl_CURSOR_...``),
syncoid makes them with ``--create-bookmark``. Retention never sees them (they hold no space) and zfstm destroys
none. They matter to a rollback: ZFS refuses ``zfs rollback`` (and ``lzc_rollback_to``) while a bookmark newer
than the snapshot exists, and ``zfs rollback -r`` destroys such bookmarks (seen on OpenZFS 2.3.9 in the testbed);
a swap leaves them on the kept dataset, while a promote takes the older ones along to the clone. See
docs/replication.md.

Listed like snapshots (pyzfs lists neither), through the ``zfs`` command: the backend's own CLI (under its
command prefix), or nothing for a backend without one (the fake keeps no bookmarks).
"""

from __future__ import annotations

from zfstm.errors import ZfsError
from zfstm.zfs.backend import ZfsBackend
from zfstm.zfs.cli import ZFS_TIMEOUT, CliBackend
from zfstm.zfs.cli_argv import ZFS
from zfstm.zfs.cli_errors import error_from_stderr
from zfstm.zfs.names import DatasetName
from zfstm.zfs.types import BookmarkInfo

__all__ = ["BookmarkInfo", "cli_of", "list_bookmarks", "list_bookmarks_argv", "parse_bookmarks"]


def list_bookmarks_argv(dataset: DatasetName) -> list[str]:
    """``zfs list`` of the dataset's own bookmarks (depth 1), oldest first, parsable numbers, no header."""
    return [ZFS, "list", "-H", "-p", "-t", "bookmark", "-o", "name,guid,createtxg", "-s", "createtxg", "-d", "1",
            dataset.full]  # fmt: skip


def parse_bookmarks(output: str, dataset: DatasetName) -> tuple[BookmarkInfo, ...]:
    """The lines of :func:`list_bookmarks_argv`'s output; anything not a bookmark of ``dataset`` is an error."""
    found = []
    for line in output.splitlines():
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not fields[0].startswith(dataset.full + "#") or not all(f.isdigit() for f in fields[1:]):
            raise ZfsError(f"unexpected bookmark line {line!r}", dataset=dataset.full, operation="list bookmarks")
        found.append(BookmarkInfo(fields[0], int(fields[1]), int(fields[2])))
    return tuple(sorted(found, key=lambda info: (info.createtxg, info.name)))


def cli_of(backend: ZfsBackend) -> CliBackend | None:
    """The CLI a backend lists with: itself (cli), its ``cli`` (lzc), or None (the fake has no bookmarks)."""
    if isinstance(backend, CliBackend):
        return backend
    inner = getattr(backend, "cli", None)
    return inner if isinstance(inner, CliBackend) else None


def list_bookmarks(backend: ZfsBackend, dataset: DatasetName) -> tuple[BookmarkInfo, ...]:
    """``dataset``'s bookmarks, oldest first; () for a backend without a zfs command."""
    cli = cli_of(backend)
    if cli is None:
        return ()
    done = cli.runner(cli.command(list_bookmarks_argv(dataset)), timeout=ZFS_TIMEOUT)
    if done.returncode != 0:
        raise error_from_stderr(
            done.stderr, returncode=done.returncode, operation="list bookmarks", dataset=dataset.full
        )
    return parse_bookmarks(done.stdout, dataset)
