"""What one read of a share found, bundle by bundle, and the share-wide signals the detector needs.

A dataset may hold several Macs' bundles; zfstm snapshots the dataset, so the signals are combined: the newest
completion and the newest band write over all bundles, any incomplete bundle, and the worst verification verdict.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from zfstm.timemachine.history import SnapshotHistory
from zfstm.timemachine.machineid import MachineId, Verdict, combine_verdicts, verdict_of
from zfstm.timemachine.plist import Unreadable
from zfstm.timemachine.sparsebundle import BandStats, BundleInfo, BundleKind, BundleRef


@attrs.frozen
class BundleScan:
    """Everything read from one bundle directory; each part is a value or the reason it is missing."""

    ref: BundleRef
    info: BundleInfo | Unreadable
    bands: BandStats | Unreadable
    machine_id: MachineId | Unreadable
    history: SnapshotHistory | Unreadable

    @property
    def latest_completion(self) -> datetime | None:
        return None if isinstance(self.history, Unreadable) else self.history.latest_completion

    @property
    def newest_band_mtime(self) -> datetime | None:
        return None if isinstance(self.bands, Unreadable) else self.bands.newest_mtime

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.machine_id)


@attrs.frozen
class ShareScan:
    """One read of a share directory. ``listing`` is set when the directory itself could not be listed."""

    path: str
    bundles: tuple[BundleScan, ...]
    listing: Unreadable | None = None

    @property
    def complete_bundles(self) -> tuple[BundleScan, ...]:
        return tuple(bundle for bundle in self.bundles if bundle.ref.kind is BundleKind.COMPLETE)

    @property
    def incomplete_bundles(self) -> tuple[BundleScan, ...]:
        return tuple(bundle for bundle in self.bundles if bundle.ref.kind is BundleKind.INCOMPLETE)

    @property
    def latest_completion(self) -> datetime | None:
        """The newest completion date recorded by any bundle."""
        return max((d for d in (b.latest_completion for b in self.bundles) if d is not None), default=None)

    @property
    def newest_band_mtime(self) -> datetime | None:
        """The newest band write in any bundle, incomplete ones included."""
        return max((d for d in (b.newest_band_mtime for b in self.bundles) if d is not None), default=None)

    @property
    def verdict(self) -> Verdict:
        """The share's verification verdict over its finished bundles (incomplete ones have none yet)."""
        return combine_verdicts([bundle.verdict for bundle in self.complete_bundles])

    @property
    def verification_date(self) -> datetime | None:
        """The oldest verification date over finished bundles: the share is only as verified as its stalest one."""
        dates = [
            bundle.machine_id.verification_date
            for bundle in self.complete_bundles
            if not isinstance(bundle.machine_id, Unreadable)
        ]
        if not dates or any(date is None for date in dates):
            return None
        return min(date for date in dates if date is not None)
