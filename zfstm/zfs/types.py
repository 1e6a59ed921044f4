"""Values the ZFS backends return: snapshot listings and per-name destroy outcomes.

Partial failure is data, not an exception: destroying 1,000 snapshots where 3 are held destroys 997 and says which 3
were refused and why, so callers (retention, rollback) can report per name instead of stopping at the first refusal.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType

import attrs

from zfstm.zfs.names import DatasetName, SnapshotName


class SnapshotProperty(enum.StrEnum):
    """Snapshot properties that are slow to list: ZFS opens every snapshot to read them.

    Since OpenZFS 2.2, ``name``, ``guid`` and ``createtxg`` are read without opening each snapshot; ``creation`` and
    ``userrefs`` made a listing of 7,322 snapshots 7x slower. So listings ask for these only when a caller needs them.
    """

    CREATION = "creation"
    USED = "used"
    REFERENCED = "referenced"
    WRITTEN = "written"
    USERREFS = "userrefs"


def _frozen_mapping(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@attrs.frozen
class SnapshotInfo:
    """One snapshot as listed. Slow properties are None unless they were asked for."""

    name: SnapshotName
    guid: int
    createtxg: int
    creation: datetime | None = None  # timezone-aware, UTC
    used: int | None = None
    referenced: int | None = None
    written: int | None = None
    userrefs: int | None = None
    #: User properties that were asked for and are set on this snapshot (unset ones are absent).
    user_props: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_mapping, hash=False)

    def __attrs_post_init__(self) -> None:
        if self.creation is not None and self.creation.tzinfo is None:
            raise ValueError(f"{self.name}: creation must be timezone-aware (UTC), got {self.creation!r}")


@attrs.frozen
class BookmarkInfo:
    """One bookmark as listed: full name ``pool/fs#mark``, the guid and createtxg of the snapshot it marks."""

    name: str
    guid: int
    createtxg: int

    @property
    def short(self) -> str:
        return self.name.partition("#")[2]


def _frozen_optional(value: Mapping[str, str | None]) -> Mapping[str, str | None]:
    return MappingProxyType(dict(value))


@attrs.frozen
class DatasetListing:
    """One dataset as a batched listing (``ZfsBackend.list_datasets``) sees it.

    Its own snapshots (oldest first, by createtxg) and bookmarks, and the raw values of the dataset properties that
    were asked for (None when unset).
    """

    dataset: DatasetName
    snapshots: tuple[SnapshotInfo, ...] = ()
    bookmarks: tuple[BookmarkInfo, ...] = ()
    properties: Mapping[str, str | None] = attrs.field(factory=dict, converter=_frozen_optional, hash=False)


class DestroyOutcome(enum.Enum):
    """What happened to one name in a batched destroy."""

    DESTROYED = "destroyed"
    HELD = "held"  # a user hold protects it; release the hold first
    CLONED = "cloned"  # a clone depends on it; promote or destroy the clone first
    NOT_FOUND = "not-found"  # it did not exist (any more): nothing to do
    FAILED = "failed"  # anything else; the message says what ZFS said


@attrs.frozen
class DestroyResult:
    """The outcome of destroying one snapshot, with ZFS's reason when it was refused."""

    name: SnapshotName
    outcome: DestroyOutcome
    message: str = ""


@attrs.frozen
class DestroyReport:
    """Per-name outcomes of one ``destroy_snapshots`` call, in the order the names were given."""

    results: tuple[DestroyResult, ...]

    @classmethod
    def of(cls, results: Iterable[DestroyResult]) -> DestroyReport:
        """Build a report from any iterable of results."""
        return cls(tuple(results))

    @property
    def destroyed(self) -> tuple[SnapshotName, ...]:
        """Names that are gone because this call destroyed them."""
        return tuple(r.name for r in self.results if r.outcome is DestroyOutcome.DESTROYED)

    @property
    def not_found(self) -> tuple[SnapshotName, ...]:
        """Names that did not exist when the call ran."""
        return tuple(r.name for r in self.results if r.outcome is DestroyOutcome.NOT_FOUND)

    @property
    def refused(self) -> tuple[DestroyResult, ...]:
        """Results for names that still exist: held, cloned or failed."""
        return tuple(r for r in self.results if r.outcome not in {DestroyOutcome.DESTROYED, DestroyOutcome.NOT_FOUND})

    @property
    def ok(self) -> bool:
        """True when every name is gone (destroyed now, or already absent)."""
        return not self.refused

    def outcome_of(self, name: SnapshotName) -> DestroyOutcome:
        """The outcome for ``name``; KeyError if it was not part of the call."""
        for result in self.results:
            if result.name == name:
                return result.outcome
        raise KeyError(name.full)
