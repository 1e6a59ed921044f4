"""Walk a volume and collect what the check needs: dev, ino, type and metadata EA of every entry (shell).

The metadata EA is read here (the pure codec is :mod:`zfstm.netatalk.metadata_ea`).

Read-only: lstat and getxattr only, symlinks are not followed. Skips the directories netatalk itself keeps out of
the CNID database (``dbd`` skips ``.AppleDB``, ``.AppleDesktop`` and ``.zfs``; ``.AppleDouble`` holds v2 metadata).
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path

from zfstm.errors import MetadataEaError
from zfstm.netatalk.check import FsEntry, VolumeScan
from zfstm.netatalk.metadata_ea import (
    EA_NAME,
    EA_NAME_LINUX,
    EA_SIZE,
    HOST_ORDER,
    ByteOrder,
    MetadataEa,
    decode_metadata_ea,
)

SKIP_NAMES = frozenset({".AppleDB", ".AppleDesktop", ".AppleDouble", ".zfs"})


#: illumos/Solaris open flag for the extended-attribute namespace (sys/fcntl.h); not exported by Python's os.
O_XATTR_SUNOS = 0x4000


def read_raw_metadata_ea(path: Path) -> bytes | None:
    """The EA's bytes, or None if the file has none. Never writes. (Shell function.)"""
    if sys.platform.startswith("sunos"):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            raise MetadataEaError(f"{path}: cannot open to read its metadata EA: {exc.strerror}") from exc
        try:
            try:
                afd = os.open(EA_NAME, os.O_RDONLY | O_XATTR_SUNOS, dir_fd=fd)
            except FileNotFoundError:
                return None
            try:
                return os.read(afd, EA_SIZE + 1)
            finally:
                os.close(afd)
        finally:
            os.close(fd)
    try:
        return os.getxattr(path, EA_NAME_LINUX, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOTSUP, getattr(errno, "ENOATTR", errno.ENODATA)):
            return None
        raise MetadataEaError(f"{path}: cannot read its metadata EA: {exc.strerror}") from exc


def read_metadata_ea(path: Path, *, byteorder: ByteOrder = HOST_ORDER) -> MetadataEa | None:
    raw = read_raw_metadata_ea(path)
    return None if raw is None else decode_metadata_ea(raw, byteorder=byteorder, where=str(path))


def _entry(path: Path, rel: str, st: os.stat_result, is_dir: bool, byteorder: ByteOrder) -> FsEntry:
    if stat.S_ISLNK(st.st_mode):
        return FsEntry(path=rel, dev=st.st_dev, ino=st.st_ino, is_dir=False)
    try:
        ea = read_metadata_ea(path, byteorder=byteorder)
    except MetadataEaError as exc:
        return FsEntry(path=rel, dev=st.st_dev, ino=st.st_ino, is_dir=is_dir, ea=None, ea_error=str(exc))
    return FsEntry(path=rel, dev=st.st_dev, ino=st.st_ino, is_dir=is_dir, ea=ea)


def scan_volume(root: Path, *, byteorder: ByteOrder = HOST_ORDER) -> VolumeScan:
    """Every file and directory below ``root`` (and root itself as ''), depth first, in name order."""
    st = root.lstat()
    entries = [_entry(root, "", st, True, byteorder)]
    stack: list[tuple[Path, str]] = [(root, "")]
    while stack:
        directory, rel = stack.pop()
        with os.scandir(directory) as it:
            children = sorted(it, key=lambda e: e.name)
        for child in reversed(children):
            if child.name in SKIP_NAMES:
                continue
            child_rel = f"{rel}/{child.name}" if rel else child.name
            cst = child.stat(follow_symlinks=False)
            is_dir = child.is_dir(follow_symlinks=False)
            entries.append(_entry(Path(child.path), child_rel, cst, is_dir, byteorder))
            if is_dir:
                stack.append((Path(child.path), child_rel))
    return VolumeScan(root=str(root), entries=tuple(entries))
