"""Build realistic Time Machine share trees on disk, for unit tests here and integration tests later.

A bundle looks like what a Mac writes over AFP/SMB: ``Info.plist`` + ``Info.bckup``, an empty ``token``,
``bands/0..N`` (sparse files of the full band size, so a test tree costs almost no disk), MachineID.plist + .bckup
and SnapshotHistory.plist, with mtimes set as given. Everything is keyword-configurable through ``BundleSpec``.
"""

from __future__ import annotations

import os
import plistlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs

MIB = 1024 * 1024
GIB = 1024 * MIB
#: A fixed "now" for tests that do not care which instant it is.
NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
HOST_UUID = "5C8E2F0A-1B2C-4D3E-8F90-A1B2C3D4E5F6"


def naive_utc(moment: datetime) -> datetime:
    """plistlib on Python 3.11 writes naive datetimes as UTC; aware ones must be converted first."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def info_plist(
    *,
    band_size: int = 8 * MIB,
    size: int = 256 * GIB,
    bundle_type: str = "com.apple.diskimage.sparsebundle",
    version: int = 1,
    fmt: plistlib.PlistFormat = plistlib.FMT_XML,
) -> bytes:
    """``Info.plist`` bytes as ``hdiutil`` writes them."""
    return plistlib.dumps(
        {
            "CFBundleInfoDictionaryVersion": "6.0",
            "band-size": band_size,
            "bundle-backingstore-version": version,
            "diskimage-bundle-type": bundle_type,
            "size": size,
        },
        fmt=fmt,
    )


def machine_id_plist(
    *,
    verification_state: int | None = 1,
    verification_date: datetime | None = NOW - timedelta(days=2),
    host_uuid: str | None = HOST_UUID,
    recovery_declined: datetime | None = None,
    fmt: plistlib.PlistFormat = plistlib.FMT_XML,
) -> bytes:
    """``com.apple.TimeMachine.MachineID.plist`` bytes; None leaves a field out."""
    fields: dict[str, object] = {"com.apple.backupd.BackupMachineAddress": "a8:66:7f:00:00:01"}
    if host_uuid is not None:
        fields["com.apple.backupd.HostUUID"] = host_uuid
    if verification_state is not None:
        fields["VerificationState"] = verification_state
    if verification_date is not None:
        fields["VerificationDate"] = naive_utc(verification_date)
    if recovery_declined is not None:
        fields["RecoveryBackupDeclinedDate"] = naive_utc(recovery_declined)
    return plistlib.dumps(fields, fmt=fmt)


def history_plist(completions: Sequence[datetime], *, fmt: plistlib.PlistFormat = plistlib.FMT_XML) -> bytes:
    """``com.apple.TimeMachine.SnapshotHistory.plist`` bytes with one entry per completion date."""
    return plistlib.dumps(
        {
            "Snapshots": [
                {
                    "com.apple.backupd.SnapshotCompletionDate": naive_utc(done),
                    "com.apple.backupd.SnapshotName": naive_utc(done).strftime("%Y-%m-%d-%H%M%S.backup"),
                }
                for done in completions
            ]
        },
        fmt=fmt,
    )


@attrs.frozen
class BundleSpec:
    """One bundle to build. Defaults: a healthy bundle whose last backup completed an hour before ``NOW``."""

    machine: str = "Mac"
    incomplete: bool = False
    band_size: int = 8 * MIB
    size: int = 256 * GIB
    band_count: int = 4
    band_payload: int = 4096
    band_mtime: datetime | None = NOW - timedelta(hours=1, minutes=1)
    verification_state: int | None = 1
    verification_date: datetime | None = NOW - timedelta(days=2)
    completions: tuple[datetime, ...] = (NOW - timedelta(hours=2), NOW - timedelta(hours=1))
    fmt: plistlib.PlistFormat = plistlib.FMT_XML
    backup_copies: bool = True
    machine_id: bool = True
    history: bool = True

    @property
    def dirname(self) -> str:
        if self.incomplete:
            return f"{self.machine} 2026-11-28 101500.incomplete"
        return f"{self.machine}.sparsebundle"


def build_bundle(share: Path, spec: BundleSpec | None = None) -> Path:
    """Write one bundle under ``share`` and return its path."""
    spec = spec or BundleSpec()
    bundle = share / spec.dirname
    bands = bundle / "bands"
    bands.mkdir(parents=True)
    info = info_plist(band_size=spec.band_size, size=spec.size, fmt=spec.fmt)
    (bundle / "Info.plist").write_bytes(info)
    (bundle / "token").write_bytes(b"")
    if spec.backup_copies:
        (bundle / "Info.bckup").write_bytes(info)
    if spec.machine_id:
        machine_id = machine_id_plist(
            verification_state=spec.verification_state, verification_date=spec.verification_date, fmt=spec.fmt
        )
        (bundle / "com.apple.TimeMachine.MachineID.plist").write_bytes(machine_id)
        if spec.backup_copies:
            (bundle / "com.apple.TimeMachine.MachineID.bckup").write_bytes(machine_id)
    if spec.history:
        history = history_plist(spec.completions, fmt=spec.fmt)
        (bundle / "com.apple.TimeMachine.SnapshotHistory.plist").write_bytes(history)
    for index in range(spec.band_count):
        band = bands / format(index, "x")
        with band.open("wb") as handle:
            handle.write(b"\xa5" * spec.band_payload)
            handle.truncate(spec.band_size)  # sparse: full apparent size, little allocated
        if spec.band_mtime is not None:
            stamp = spec.band_mtime.timestamp() - (spec.band_count - 1 - index)  # band 0 oldest, last band newest
            os.utime(band, (stamp, stamp))
    return bundle


def build_share(share: Path, *specs: BundleSpec) -> Path:
    """A share directory holding the given bundles (one default bundle when none are given)."""
    share.mkdir(parents=True, exist_ok=True)
    for spec in specs or (BundleSpec(),):
        build_bundle(share, spec)
    return share
