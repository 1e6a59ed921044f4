"""What one look at a target found: the share's Time Machine files, the datasets' snapshots, and a few counters.

These are the only inputs of the pure decision code. ``None`` always means "not known" (the detector then ignores
that signal), never zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType

import attrs

from zfstm.config.model import Target
from zfstm.retention.snapshots import STANDS_UNTIL_PROPERTY
from zfstm.timemachine.properties import MANAGED, YES, SnapshotRecord, record_from_properties
from zfstm.timemachine.share import ShareScan
from zfstm.timemachine.timefmt import aware, parse_utc
from zfstm.zfs.names import DatasetName, SnapshotName

#: Set on the newest snapshot when a due snapshot was skipped because nothing was written: until when that
#: snapshot stands for the share's state (retention then counts it in the latest time slot it stands for).
STANDS_UNTIL = STANDS_UNTIL_PROPERTY


def _frozen(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _tags(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


@attrs.frozen
class SnapshotView:
    """One snapshot as the life-cycle sees it.

    ``time`` is the instant its name encodes (zfstm's scheme or an adopted one), else its creation time, like
    retention; ``creation`` is what ZFS says. ``properties`` holds the ``zfstm:*`` user properties that are set.
    """

    name: SnapshotName
    time: datetime = attrs.field(validator=aware)
    createtxg: int
    creation: datetime | None = attrs.field(default=None, validator=aware)
    managed: bool = False
    used: int | None = None
    referenced: int | None = None
    holds: frozenset[str] = attrs.field(default=frozenset(), converter=_tags)
    properties: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen, hash=False)

    @property
    def zfstm_owned(self) -> bool:
        """Taken by zfstm (``zfstm:managed=yes``), not just adopted by name."""
        return self.properties.get(MANAGED) == YES

    @property
    def stands_until(self) -> datetime | None:
        return parse_utc(self.properties.get(STANDS_UNTIL, ""))

    def record(self) -> SnapshotRecord:
        """The known-good view (timemachine.properties): unknown or foreign reads as not good."""
        return record_from_properties(self.name.full, self.time, self.properties)


@attrs.frozen
class DatasetState:
    """A dataset's snapshots (oldest first, by createtxg) and its ``written`` (bytes since its newest snapshot)."""

    dataset: DatasetName
    snapshots: tuple[SnapshotView, ...] = ()
    written: int | None = None
    usage: float | None = None

    @property
    def managed(self) -> tuple[SnapshotView, ...]:
        return tuple(view for view in self.snapshots if view.managed)

    @property
    def last_managed(self) -> SnapshotView | None:
        """The newest managed snapshot by time (then createtxg)."""
        return max(self.managed, key=lambda view: (view.time, view.createtxg), default=None)

    @property
    def newest(self) -> SnapshotView | None:
        """The newest snapshot of any kind (``written`` is counted from it)."""
        return max(self.snapshots, key=lambda view: view.createtxg, default=None)

    def held(self, tag: str) -> tuple[SnapshotView, ...]:
        return tuple(view for view in self.snapshots if tag in view.holds)


@attrs.frozen
class TargetObservation:
    """Everything one tick knows about one target. ``previous_written`` is ``written`` at the previous look, only
    when no snapshot was taken in between (otherwise unknown)."""

    target: Target
    scan: ShareScan
    data: DatasetState
    cnid: DatasetState | None = None
    open_sessions: int | None = None
    previous_written: int | None = None
    share_path: str = ""
