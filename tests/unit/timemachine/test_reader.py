"""Reading a share from disk: realistic trees read right, and damaged trees never raise."""

from __future__ import annotations

import os
import plistlib
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.timemachine.fixtures import MIB, NOW, BundleSpec, build_bundle, build_share, info_plist
from zfstm.timemachine.detector import ActivityState, Observations, detect
from zfstm.timemachine.due import Trigger, decide_snapshot
from zfstm.timemachine.history import SnapshotHistory
from zfstm.timemachine.machineid import MachineId, Verdict, VerificationState
from zfstm.timemachine.plist import Unreadable
from zfstm.timemachine.properties import record_from_properties, snapshot_properties
from zfstm.timemachine.reader import read_bundle, read_bytes, read_share
from zfstm.timemachine.share import BundleScan
from zfstm.timemachine.sparsebundle import BandStats, BundleInfo, BundleKind

PLIST_FILES = (
    "Info.plist",
    "Info.bckup",
    "com.apple.TimeMachine.MachineID.plist",
    "com.apple.TimeMachine.MachineID.bckup",
    "com.apple.TimeMachine.SnapshotHistory.plist",
)


def test_realistic_share(tmp_path: Path) -> None:
    """A healthy and a failed bundle read back with their band size, bands, states, dates and kinds."""
    share = build_share(
        tmp_path / "share",
        BundleSpec(machine="Anna", band_count=5),
        BundleSpec(
            machine="Ben", verification_state=2, fmt=plistlib.FMT_BINARY, band_mtime=NOW - 3 * timedelta(hours=1)
        ),
    )
    (share / ".AppleDB").mkdir()
    (share / "notes.txt").write_text("not a bundle")
    scan = read_share(share)
    assert scan.listing is None
    assert [b.ref.name for b in scan.bundles] == ["Anna.sparsebundle", "Ben.sparsebundle"]
    anna, ben = scan.bundles
    assert isinstance(anna.info, BundleInfo)
    assert anna.info.band_size == 8 * MIB
    assert isinstance(anna.bands, BandStats)
    assert anna.bands.count == 5
    assert anna.bands.highest_index == 4
    assert anna.bands.apparent_bytes == 5 * 8 * MIB
    assert anna.bands.allocated_bytes < anna.bands.apparent_bytes  # sparse band files
    assert anna.newest_band_mtime == NOW - timedelta(hours=1, minutes=1)
    assert isinstance(anna.machine_id, MachineId)
    assert anna.machine_id.verification_state is VerificationState.HEALTHY
    assert isinstance(ben.machine_id, MachineId)
    assert ben.machine_id.verification_state is VerificationState.FAILED
    assert isinstance(anna.history, SnapshotHistory)
    assert scan.latest_completion == NOW - timedelta(hours=1)
    assert scan.newest_band_mtime == NOW - timedelta(hours=1, minutes=1)
    assert scan.verdict is Verdict.FAILED
    assert not scan.incomplete_bundles


def test_incomplete_first_backup(tmp_path: Path) -> None:
    """An .incomplete bundle is found, kept apart from finished ones, and makes the share in progress."""
    share = build_share(tmp_path, BundleSpec(), BundleSpec(machine="New", incomplete=True, history=False))
    scan = read_share(share)
    assert [b.ref.kind for b in scan.bundles] == [BundleKind.COMPLETE, BundleKind.INCOMPLETE]
    assert scan.verdict is Verdict.OK  # incomplete bundles have no verdict yet
    activity = detect(Observations.from_share(scan, now=NOW))
    assert activity.state is ActivityState.IN_PROGRESS


def test_scan_to_snapshot_properties(tmp_path: Path) -> None:
    """From disk to decision: a finished, verified backup an hour ago is due and recorded as known-good material."""
    scan = read_share(build_share(tmp_path))
    activity = detect(Observations.from_share(scan, now=NOW, open_sessions=0))
    assert activity.state is ActivityState.COMPLETED_AND_QUIET
    decision = decide_snapshot(activity, last=None, written_since_last=None, now=NOW)
    assert decision.trigger is Trigger.FIRST
    properties = snapshot_properties(activity=activity, verdict=scan.verdict, trigger=decision.trigger)
    assert properties["zfstm:tm-completed"] == "2026-11-28T11:00:00Z"
    assert properties["zfstm:tm-verification"] == "ok"
    assert record_from_properties("zfstm-x", NOW, properties).after_verified_completion


def test_backup_copies_are_used(tmp_path: Path) -> None:
    """A corrupt Info.plist and a missing MachineID.plist fall back to their .bckup copies."""
    bundle = build_bundle(tmp_path)
    (bundle / "Info.plist").write_bytes(b"<?xml garbage")
    (bundle / "com.apple.TimeMachine.MachineID.plist").unlink()
    scan = read_bundle(bundle)
    assert isinstance(scan.info, BundleInfo)
    assert scan.info.source == "Info.bckup"
    assert isinstance(scan.machine_id, MachineId)
    assert scan.machine_id.source == "com.apple.TimeMachine.MachineID.bckup"


def test_missing_files_are_unreadable_and_marked_missing(tmp_path: Path) -> None:
    """A bundle with nothing in it reads as Unreadable parts, each marked missing and naming the path."""
    bundle = tmp_path / "Empty.sparsebundle"
    bundle.mkdir()
    scan = read_bundle(bundle)
    for part in (scan.info, scan.bands, scan.machine_id, scan.history):
        assert isinstance(part, Unreadable)
        assert part.missing
        assert str(bundle) in part.reason


def test_missing_share(tmp_path: Path) -> None:
    """A share directory that does not exist gives an empty scan with the reason, not an exception."""
    scan = read_share(tmp_path / "nope")
    assert scan.bundles == ()
    assert scan.listing is not None
    assert scan.listing.missing


def test_links_fifos_and_directories_are_not_followed(tmp_path: Path) -> None:
    """Symlinked plists, FIFOs and directories in place of files are Unreadable; symlinked bands are skipped."""
    bundle = build_bundle(tmp_path, BundleSpec(backup_copies=False, band_count=2))
    secret = tmp_path / "elsewhere.plist"
    secret.write_bytes(info_plist())
    (bundle / "Info.plist").unlink()
    (bundle / "Info.plist").symlink_to(secret)
    (bundle / "com.apple.TimeMachine.MachineID.plist").unlink()
    os.mkfifo(bundle / "com.apple.TimeMachine.MachineID.plist")
    (bundle / "com.apple.TimeMachine.SnapshotHistory.plist").unlink()
    (bundle / "com.apple.TimeMachine.SnapshotHistory.plist").mkdir()
    (bundle / "bands" / "ff").symlink_to(secret)
    scan = read_bundle(bundle)
    assert isinstance(scan.info, Unreadable)
    assert isinstance(scan.machine_id, Unreadable)
    assert isinstance(scan.history, Unreadable)
    assert isinstance(scan.bands, BandStats)
    assert scan.bands.count == 2


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    """A file larger than any plist may be is refused without being read whole."""
    big = tmp_path / "big"
    with big.open("wb") as handle:
        handle.truncate(17 * MIB)
    assert isinstance(read_bytes(big), Unreadable)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied(tmp_path: Path) -> None:
    """A plist the reader may not open is Unreadable with the reason."""
    bundle = build_bundle(tmp_path)
    (bundle / "Info.plist").chmod(0)
    (bundle / "Info.bckup").chmod(0)
    assert isinstance(read_bundle(bundle).info, Unreadable)


contents = st.binary(max_size=300) | st.sampled_from([b"", b"bplist00", b"<?xml version='1.0'?><plist>"])


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=60)
@given(st.dictionaries(st.sampled_from(PLIST_FILES), contents), st.booleans(), st.data())
def test_fuzzed_bundles_never_raise(files: dict[str, bytes], drop_bands: bool, data: st.DataObject) -> None:
    """Random bytes, truncated plists and missing files in any combination never make the reader raise."""
    with tempfile.TemporaryDirectory() as tmp:
        bundle = build_bundle(Path(tmp), BundleSpec(band_count=1, band_payload=0, band_size=4096))
        for name, content in files.items():
            original = (bundle / name).read_bytes()
            cut = data.draw(st.integers(0, len(original)))
            choice = data.draw(st.sampled_from(["random", "truncated", "missing"]))
            if choice == "missing":
                (bundle / name).unlink()
            else:
                (bundle / name).write_bytes(content if choice == "random" else original[:cut])
        if drop_bands:
            (bundle / "bands" / "0").unlink()
            (bundle / "bands").rmdir()
        scan = read_share(Path(tmp))
        assert len(scan.bundles) == 1
        assert isinstance(scan.bundles[0], BundleScan)
        detect(Observations.from_share(scan, now=NOW))  # and the detector takes whatever came out
        assert scan.verdict in Verdict
