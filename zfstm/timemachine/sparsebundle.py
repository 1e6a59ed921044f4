"""The sparse bundle disk image a Mac writes its backups into: header plist, band files, and finding bundles.

A bundle is a directory: ``Info.plist`` (copy in ``Info.bckup``) says how large the image is and how it is cut into
bands; ``bands/`` holds one file per band, named by its index in lowercase hexadecimal without padding. Band mtimes
are the server's clock of the last write, which is what tells a running backup from a finished one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

import attrs

from zfstm.timemachine.plist import Unreadable, get_int, get_str, load_dict

INFO_PLIST = "Info.plist"
INFO_BACKUP = "Info.bckup"
BANDS_DIR = "bands"
SPARSEBUNDLE_TYPE = "com.apple.diskimage.sparsebundle"

#: Suffixes of bundle directories on a share: a finished bundle, and a first backup still being built.
COMPLETE_SUFFIX = ".sparsebundle"
INCOMPLETE_SUFFIX = ".incomplete"

# Lowercase hex without leading zeros; 16 digits is more bands than any image can have.
_BAND_NAME = re.compile(r"0|[1-9a-f][0-9a-f]{0,15}")


@attrs.frozen
class BundleInfo:
    """What ``Info.plist`` says about the image. ``problems`` lists odd but non-fatal findings."""

    band_size: int
    size: int
    bundle_type: str | None
    backingstore_version: int | None
    source: str = INFO_PLIST
    problems: tuple[str, ...] = ()

    @property
    def band_limit(self) -> int:
        """How many bands the image can have at most (its size divided by the band size, rounded up)."""
        return -(-self.size // self.band_size)


def parse_info(data: bytes, *, source: str = INFO_PLIST) -> BundleInfo | Unreadable:
    """Decode ``Info.plist`` bytes; band size and size must be positive integers, the rest is reported."""
    fields = load_dict(data, what=source)
    if isinstance(fields, Unreadable):
        return fields
    problems: list[str] = []
    band_size = get_int(fields, "band-size", problems)
    size = get_int(fields, "size", problems)
    bundle_type = get_str(fields, "diskimage-bundle-type", problems)
    version = get_int(fields, "bundle-backingstore-version", problems)
    if band_size is None or band_size <= 0:
        return Unreadable(f"{source} has no positive band-size ({'; '.join(problems) or band_size})")
    if size is None or size < 0:
        return Unreadable(f"{source} has no usable size ({'; '.join(problems) or size})")
    if bundle_type is not None and bundle_type != SPARSEBUNDLE_TYPE:
        problems.append(f"diskimage-bundle-type is {bundle_type!r}, expected {SPARSEBUNDLE_TYPE!r}")
    return BundleInfo(band_size, size, bundle_type, version, source, tuple(problems))


def band_index(name: str) -> int | None:
    """The band number a file name stands for, or None when the name is not a band's."""
    if _BAND_NAME.fullmatch(name) is None:
        return None
    return int(name, 16)


@attrs.frozen
class BandFile:
    """One regular file found in ``bands/``, as the reader saw it."""

    name: str
    size: int
    allocated: int
    mtime: datetime


@attrs.frozen
class BandStats:
    """A summary of ``bands/``: enough to size the image and to tell when it was last written."""

    count: int
    apparent_bytes: int
    allocated_bytes: int
    newest_mtime: datetime | None
    highest_index: int | None
    ignored: int = 0


def summarize_bands(files: Iterable[BandFile]) -> BandStats:
    """Fold band files into counts, sizes and the newest mtime; names that are not bands are only counted."""
    count = apparent = allocated = ignored = 0
    newest: datetime | None = None
    highest: int | None = None
    for band in files:
        index = band_index(band.name)
        if index is None:
            ignored += 1
            continue
        count += 1
        apparent += band.size
        allocated += band.allocated
        newest = band.mtime if newest is None else max(newest, band.mtime)
        highest = index if highest is None else max(highest, index)
    return BandStats(count, apparent, allocated, newest, highest, ignored)


class BundleKind(StrEnum):
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"


@attrs.frozen
class BundleRef:
    """A bundle directory found on a share."""

    name: str
    kind: BundleKind

    @property
    def stem(self) -> str:
        """The name without its suffix (the Mac's name, plus a date for an incomplete first backup)."""
        suffix = COMPLETE_SUFFIX if self.kind is BundleKind.COMPLETE else INCOMPLETE_SUFFIX
        return self.name[: -len(suffix)]


def classify_bundle(name: str) -> BundleRef | None:
    """A directory name as a bundle, or None. AppleDouble shadows (``._name``) and bare suffixes are not bundles."""
    if name.startswith("._"):
        return None
    for suffix, kind in ((COMPLETE_SUFFIX, BundleKind.COMPLETE), (INCOMPLETE_SUFFIX, BundleKind.INCOMPLETE)):
        if name.endswith(suffix) and len(name) > len(suffix):
            return BundleRef(name, kind)
    return None


def discover_bundles(directory_names: Iterable[str]) -> tuple[BundleRef, ...]:
    """The bundles among a share's top-level directory names, sorted by name."""
    found = (classify_bundle(name) for name in directory_names)
    return tuple(sorted((ref for ref in found if ref is not None), key=lambda ref: ref.name))
