"""What retention needs to know about one snapshot, and how to tell it from what ZFS says.

A snapshot is *managed* (a candidate for pruning) when it carries ``zfstm:managed=yes`` or its short name is in an
adopted naming scheme; everything else is *foreign* and is never touched. Its time is the one its name encodes when
a scheme reads the name, else its creation time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

import attrs

from zfstm.clock import as_utc
from zfstm.naming import DEFAULT_SCHEME, NamingScheme
from zfstm.snapshots import tags

#: The snapshot model's names (:mod:`zfstm.snapshots.tags`), under retention's public names.
MANAGED_PROPERTY = tags.MANAGED
KNOWN_GOOD_HOLD = tags.KNOWN_GOOD_HOLD
REPLICA_KNOWN_GOOD = tags.REPLICA_KNOWN_GOOD
STANDS_UNTIL_PROPERTY = tags.STANDS_UNTIL


def _whole_seconds(value: datetime) -> datetime:
    """UTC, whole seconds: names and ZFS creation times have no finer resolution, and buckets are exact then."""
    return as_utc(value).replace(microsecond=0)


def _tags(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


@attrs.frozen(init=False, weakref_slot=False)
class RetentionSnapshot:
    """A snapshot as retention sees it: ``name`` (full ``pool/fs@snap`` or short), UTC ``time``, holds.

    Only ``epoch`` (POSIX seconds of ``time``) is stored, because the planner sorts and buckets by it and a datetime
    per snapshot would cost 48 more bytes each (an offline plan of 1M lines); ``time`` is made from it on access.
    """

    name: str
    epoch: int
    managed: bool = True
    holds: frozenset[str] = frozenset()

    def __init__(self, name: str, time: datetime, managed: bool = True, holds: Iterable[str] = frozenset()) -> None:
        self.__attrs_init__(name, int(_whole_seconds(time).timestamp()), managed, _tags(holds))

    @property
    def time(self) -> datetime:
        """UTC, whole seconds (names and ZFS creation times have no finer resolution, and buckets are exact then)."""
        return datetime.fromtimestamp(self.epoch, UTC)

    @property
    def short_name(self) -> str:
        return self.name.rpartition("@")[2]

    @property
    def known_good(self) -> bool:
        return KNOWN_GOOD_HOLD in self.holds or REPLICA_KNOWN_GOOD in self.holds


def classify(
    name: str,
    creation: datetime,
    *,
    holds: frozenset[str] = frozenset(),
    user_props: Mapping[str, str] | None = None,
    naming: NamingScheme = DEFAULT_SCHEME,
    adopted: Sequence[NamingScheme] = (),
) -> RetentionSnapshot:
    """Build the retention view of a snapshot.

    ``user_props=None`` means the properties are unknown (an offline list): then a name in zfstm's own scheme also
    counts as managed. With properties, only ``zfstm:managed=yes`` or an adopted scheme makes it managed.
    """
    short = name.rpartition("@")[2]
    time: datetime | None = None
    for scheme in (naming, *adopted):
        time = scheme.parse(short)
        if time is not None:
            break
    by_adoption = any(scheme.parse(short) is not None for scheme in adopted)
    if user_props is None:
        managed = by_adoption or naming.parse(short) is not None
    else:
        managed = user_props.get(MANAGED_PROPERTY) == tags.YES or by_adoption
    return RetentionSnapshot(name=name, time=time if time is not None else creation, managed=managed, holds=holds)


def standing_in(snapshot: RetentionSnapshot, until: datetime | None, *, pick_last: bool) -> RetentionSnapshot:
    """Under ``pick = last`` a managed snapshot that stood for skipped empty ones is placed at its stands-until
    time: it *is* the share's state up to then, so it represents the latest bucket it stood for."""
    if pick_last and snapshot.managed and until is not None and as_utc(until) > snapshot.time:
        return RetentionSnapshot(snapshot.name, as_utc(until), snapshot.managed, snapshot.holds)
    return snapshot
