"""The one snapshot model (pure): each listed snapshot classified once, and a dataset's snapshots as a value.

A snapshot is *managed* when zfstm took it (``zfstm:managed=yes``) or its name is in zfstm's scheme or an adopted
one; every other snapshot is *foreign* and never destroyed. Its *time* is the instant its name encodes, else its
creation. Its holds, ``zfstm:*`` properties (the known-good facts, ``stands-until``) and ``used`` bytes come from
the same listing. Retention's view (:func:`retention_view`) and the known-good view (:meth:`SnapshotView.record`)
are derived from this one classification, so every verb sees a snapshot the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType

import attrs

from zfstm.naming import NamingScheme
from zfstm.retention.policy import Pick
from zfstm.retention.snapshots import RetentionSnapshot, classify, standing_in
from zfstm.snapshots.tags import MANAGED, STANDS_UNTIL, YES
from zfstm.timemachine.properties import SnapshotRecord, record_from_properties
from zfstm.timemachine.timefmt import aware, parse_utc
from zfstm.zfs.names import DatasetName, SnapshotName
from zfstm.zfs.types import BookmarkInfo, DatasetListing, SnapshotInfo


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
    """A dataset's snapshots (oldest first, by createtxg), its ``written`` (bytes since its newest snapshot), the used
    fraction its space tier counts, its bookmarks (listed beside the snapshots; zfstm never destroys one) and its
    mountpoint (None where the listing did not read it)."""

    dataset: DatasetName
    snapshots: tuple[SnapshotView, ...] = ()
    written: int | None = None
    usage: float | None = None
    bookmarks: tuple[BookmarkInfo, ...] = ()
    mountpoint: str | None = None

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


def snapshot_time(info: SnapshotInfo, naming: NamingScheme, adopted: Sequence[NamingScheme]) -> datetime | None:
    """The time the name encodes (own scheme first, then adopted ones), else None."""
    for scheme in (naming, *adopted):
        parsed = scheme.parse(info.name.short)
        if parsed is not None:
            return parsed
    return None


def view_of(
    info: SnapshotInfo, holds: frozenset[str], naming: NamingScheme, adopted: Sequence[NamingScheme]
) -> SnapshotView:
    creation = info.creation
    by_name = snapshot_time(info, naming, adopted)
    if creation is None and by_name is None:
        raise ValueError(f"{info.name}: the listing has no creation time")
    owned = info.user_props.get(MANAGED) == YES
    adopted_name = any(scheme.parse(info.name.short) is not None for scheme in adopted)
    return SnapshotView(
        name=info.name,
        time=by_name if by_name is not None else creation,  # type: ignore[arg-type]
        createtxg=info.createtxg,
        creation=creation,
        managed=owned or adopted_name,
        used=info.used,
        referenced=info.referenced,
        holds=holds,
        properties=dict(info.user_props),
    )


def retention_view(
    view: SnapshotView, holds: frozenset[str], *, pick: Pick, naming: NamingScheme, adopted: Sequence[NamingScheme]
) -> RetentionSnapshot:
    """The retention view of a snapshot, moved to its ``stands-until`` time under ``pick = last``."""
    base = classify(
        view.name.full,
        view.creation or view.time,
        holds=holds,
        user_props=dict(view.properties),
        naming=naming,
        adopted=adopted,
    )
    return standing_in(base, view.stands_until, pick_last=pick is Pick.LAST)


def after_taking(
    state: DatasetState,
    listing: DatasetListing,
    set_now: Mapping[SnapshotName, Mapping[str, str]],
    *,
    naming: NamingScheme,
    adopted: Sequence[NamingScheme],
) -> DatasetState | None:
    """The state after a tick took and marked snapshots, from its observation and a fast listing (pure).

    The listing (name, guid, createtxg) says which snapshots exist now and the new ones' place; ``set_now`` holds the
    user properties zfstm has just set without error (on a new snapshot: all of them; on an old one: the
    stands-until mark). Everything else is the observation's. None when the listing shows a snapshot that is neither
    observed nor one of ``set_now``'s (someone else took it meanwhile) or a new one without a time: read it all
    again then. ``written`` is not known (the relisting tick never needed it); the usage is the observation's.
    """
    known = {view.name: view for view in state.snapshots}
    views: list[SnapshotView] = []
    for info in listing.snapshots:
        view = known.get(info.name)
        props = set_now.get(info.name)
        if view is not None:
            views.append(attrs.evolve(view, properties={**view.properties, **props}) if props else view)
            continue
        if props is None:
            return None
        try:
            views.append(view_of(attrs.evolve(info, user_props=props), frozenset(), naming, adopted))
        except ValueError:
            return None
    return attrs.evolve(state, snapshots=tuple(views), written=None, bookmarks=listing.bookmarks)
