"""Walk a volume and collect what the check needs: dev, ino, type and metadata EA of every entry (shell).

Read-only: lstat and getxattr only, symlinks are not followed. Skips the directories netatalk itself keeps out of
the CNID database (``dbd`` skips ``.AppleDB``, ``.AppleDesktop`` and ``.zfs``; ``.AppleDouble`` holds v2 metadata).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from zfstm.errors import MetadataEaError
from zfstm.netatalk.check import FsEntry, VolumeScan
from zfstm.netatalk.metadata_ea import HOST_ORDER, ByteOrder, read_metadata_ea

SKIP_NAMES = frozenset({".AppleDB", ".AppleDesktop", ".AppleDouble", ".zfs"})


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
