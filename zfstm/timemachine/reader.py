"""The shell: read a share directory into a ``ShareScan``. It only reads, and never raises on what it finds.

Every file may be missing, truncated, unreadable or replaced while we look (Time Machine renames plists into place
during a backup); each failure becomes an ``Unreadable`` in the scan and the rest is still read. Symbolic links are
not followed. ``bands/`` can hold tens of thousands of files, so it is read with one ``os.scandir`` pass.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from zfstm.timemachine.history import HISTORY_PLIST, SnapshotHistory, parse_history
from zfstm.timemachine.machineid import MACHINE_ID_BACKUP, MACHINE_ID_PLIST, MachineId, parse_machine_id
from zfstm.timemachine.plist import MAX_PLIST_BYTES, Unreadable, first_readable
from zfstm.timemachine.share import BundleScan, ShareScan
from zfstm.timemachine.sparsebundle import (
    BANDS_DIR,
    INFO_BACKUP,
    INFO_PLIST,
    BandFile,
    BandStats,
    BundleInfo,
    BundleRef,
    classify_bundle,
    discover_bundles,
    parse_info,
    summarize_bands,
)

T = TypeVar("T")


def read_bytes(path: Path) -> bytes | Unreadable:
    """A small file's bytes, or why not. Refuses non-regular files and files larger than a plist may be."""
    try:
        # O_NONBLOCK keeps a FIFO planted in the bundle from hanging the reader; regular files ignore it.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        with os.fdopen(os.open(path, flags), "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                return Unreadable(f"{path} is not a regular file")
            data = handle.read(MAX_PLIST_BYTES + 1)
    except FileNotFoundError:
        return Unreadable(f"{path} is missing", missing=True)
    except OSError as exc:
        return Unreadable(f"{path} cannot be read ({exc.strerror or exc})")
    if len(data) > MAX_PLIST_BYTES:
        return Unreadable(f"{path} is larger than {MAX_PLIST_BYTES} bytes")
    return data


def _parse_file(path: Path, parse: Callable[[bytes], T | Unreadable]) -> T | Unreadable:
    data = read_bytes(path)
    if isinstance(data, Unreadable):
        return data
    parsed = parse(data)
    if isinstance(parsed, Unreadable):
        return Unreadable(f"{path}: {parsed.reason}")
    return parsed


def read_info(bundle: Path) -> BundleInfo | Unreadable:
    """``Info.plist``, or ``Info.bckup`` when the first cannot be used."""
    return first_readable(
        _parse_file(bundle / INFO_PLIST, lambda data: parse_info(data, source=INFO_PLIST)),
        _parse_file(bundle / INFO_BACKUP, lambda data: parse_info(data, source=INFO_BACKUP)),
    )


def read_machine_id(bundle: Path) -> MachineId | Unreadable:
    """``com.apple.TimeMachine.MachineID.plist``, or its ``.bckup`` copy."""
    return first_readable(
        _parse_file(bundle / MACHINE_ID_PLIST, lambda data: parse_machine_id(data, source=MACHINE_ID_PLIST)),
        _parse_file(bundle / MACHINE_ID_BACKUP, lambda data: parse_machine_id(data, source=MACHINE_ID_BACKUP)),
    )


def read_history(bundle: Path) -> SnapshotHistory | Unreadable:
    """``com.apple.TimeMachine.SnapshotHistory.plist`` (it has no backup copy)."""
    return _parse_file(bundle / HISTORY_PLIST, parse_history)


def _band_files(bands: Path) -> Iterator[BandFile]:
    with os.scandir(bands) as entries:
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # removed while we looked (Time Machine deletes bands when it shrinks the image)
            if not stat.S_ISREG(info.st_mode):
                continue
            yield BandFile(
                name=entry.name,
                size=info.st_size,
                allocated=getattr(info, "st_blocks", 0) * 512,
                mtime=datetime.fromtimestamp(info.st_mtime_ns / 1e9, tz=UTC),
            )


def read_bands(bundle: Path) -> BandStats | Unreadable:
    """Count and size the band files and find the newest mtime."""
    bands = bundle / BANDS_DIR
    try:
        if not stat.S_ISDIR(bands.lstat().st_mode):
            return Unreadable(f"{bands} is not a directory")
        return summarize_bands(_band_files(bands))
    except FileNotFoundError:
        return Unreadable(f"{bands} is missing", missing=True)
    except OSError as exc:
        return Unreadable(f"{bands} cannot be listed ({exc.strerror or exc})")


def read_bundle(path: Path, ref: BundleRef | None = None) -> BundleScan:
    """Read one bundle directory. ``ref`` defaults to what the directory's name says it is."""
    ref = ref or classify_bundle(path.name)
    if ref is None:
        raise ValueError(f"{path} is not named like a bundle (*.sparsebundle or *.incomplete)")
    return BundleScan(
        ref=ref,
        info=read_info(path),
        bands=read_bands(path),
        machine_id=read_machine_id(path),
        history=read_history(path),
    )


def read_share(share: Path) -> ShareScan:
    """Read every bundle at the top of a share directory (the dataset's mountpoint or the share's path)."""
    try:
        with os.scandir(share) as entries:
            names = [entry.name for entry in entries if _is_dir(entry)]
    except OSError as exc:
        missing = isinstance(exc, FileNotFoundError)
        return ShareScan(str(share), (), Unreadable(f"{share} cannot be listed ({exc.strerror or exc})", missing))
    return ShareScan(str(share), tuple(read_bundle(share / ref.name, ref) for ref in discover_bundles(names)))


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
