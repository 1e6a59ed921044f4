"""Sparse bundle header, band files and bundle discovery."""

from __future__ import annotations

import plistlib
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.timemachine.fixtures import MIB, NOW, info_plist
from tests.unit.timemachine.strategies import formats
from zfstm.timemachine.plist import Unreadable
from zfstm.timemachine.sparsebundle import (
    INFO_BACKUP,
    BandFile,
    BundleInfo,
    BundleKind,
    band_index,
    classify_bundle,
    discover_bundles,
    parse_info,
    summarize_bands,
)

band_sizes = st.integers(min_value=1, max_value=2**40)
sizes = st.integers(min_value=0, max_value=2**60)


@given(band_sizes, sizes, st.integers(min_value=0, max_value=9), formats)
def test_info_round_trip(band_size: int, size: int, version: int, fmt: plistlib.PlistFormat) -> None:
    """Band size, size, type and backingstore version survive an XML or binary Info.plist."""
    info = parse_info(info_plist(band_size=band_size, size=size, version=version, fmt=fmt))
    assert info == BundleInfo(band_size, size, "com.apple.diskimage.sparsebundle", version)


def test_info_band_limit() -> None:
    """The band limit is the size divided by the band size, rounded up."""
    assert BundleInfo(8 * MIB, 8 * MIB * 3 + 1, None, None).band_limit == 4
    assert BundleInfo(8 * MIB, 8 * MIB * 3, None, None).band_limit == 3


def test_info_without_band_size_is_unreadable() -> None:
    """An Info.plist without a positive band-size cannot describe the image: Unreadable, naming the file."""
    for fields in ({"size": 10}, {"band-size": 0, "size": 10}, {"band-size": "8", "size": 10}):
        result = parse_info(plistlib.dumps(fields), source=INFO_BACKUP)
        assert isinstance(result, Unreadable)
        assert INFO_BACKUP in result.reason


def test_info_odd_type_is_a_problem_not_a_failure() -> None:
    """A bundle type other than sparsebundle is reported as a problem; the sizes are still used."""
    info = parse_info(info_plist(bundle_type="com.apple.diskimage.sparseimage"))
    assert isinstance(info, BundleInfo)
    assert info.problems


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_band_index_round_trip(index: int) -> None:
    """A band's file name is its index in lowercase hex without padding, and reads back to the index."""
    assert band_index(format(index, "x")) == index


@given(st.text(max_size=20))
def test_band_index_accepts_only_canonical_names(name: str) -> None:
    """A name reads as a band only if it is exactly the canonical spelling of its index."""
    index = band_index(name)
    if index is not None:
        assert format(index, "x") == name


def test_band_index_rejects_padding_case_and_junk() -> None:
    """Padded, uppercase, AppleDouble and empty names are not bands."""
    for name in ("00", "0a1", "A", "._1", "", ".DS_Store", "1 ", "-1"):
        assert band_index(name) is None


@given(st.lists(st.tuples(st.integers(min_value=0, max_value=5000), st.integers(0, 10**6), st.integers(-(10**5), 0))))
def test_summarize_bands(raw: list[tuple[int, int, int]]) -> None:
    """Count, sizes, newest mtime and highest index are the plain folds over band files; junk is only counted."""
    files = [BandFile(format(i, "x"), size, size // 2, NOW + timedelta(seconds=s)) for i, size, s in raw]
    files.append(BandFile(".DS_Store", 6148, 8192, NOW + timedelta(days=9)))
    stats = summarize_bands(files)
    assert stats.count == len(raw)
    assert stats.apparent_bytes == sum(size for _, size, _ in raw)
    assert stats.allocated_bytes == sum(size // 2 for _, size, _ in raw)
    assert stats.ignored == 1
    assert stats.newest_mtime == (max(NOW + timedelta(seconds=s) for *_, s in raw) if raw else None)
    assert stats.highest_index == (max(i for i, *_ in raw) if raw else None)


def test_classify_bundle() -> None:
    """Finished and incomplete bundles are recognised by suffix; AppleDouble shadows and bare suffixes are not."""
    done = classify_bundle("Anna's MacBook.sparsebundle")
    assert done is not None
    assert done.kind is BundleKind.COMPLETE
    assert done.stem == "Anna's MacBook"
    first = classify_bundle("Anna's MacBook 2026-11-28 101500.incomplete")
    assert first is not None
    assert first.kind is BundleKind.INCOMPLETE
    for name in ("._Mac.sparsebundle", ".sparsebundle", ".incomplete", "Mac.dmg", ".AppleDB"):
        assert classify_bundle(name) is None


@given(st.lists(st.text(max_size=12) | st.text(max_size=8).map(lambda s: s + ".sparsebundle")))
def test_discover_bundles_is_sorted_and_complete(names: list[str]) -> None:
    """Discovery returns exactly the classifiable names, sorted, whatever else the share holds."""
    found = discover_bundles(names)
    assert [ref.name for ref in found] == sorted(n for n in names if classify_bundle(n) is not None)
