"""The shell around retention: read a dataset's snapshots from a backend, apply a plan, estimate reclaimed space.

Applying re-checks the plan's safety first (clock, circuit breaker), then destroys through the backend's batched
destroy: names ZFS refuses at that moment (a hold placed since the listing, a clone) come back per name in the
report while the rest still go.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from zfstm.errors import ZfsError
from zfstm.naming import DEFAULT_SCHEME, NamingScheme
from zfstm.retention.plan import Plan
from zfstm.retention.snapshots import (
    MANAGED_PROPERTY,
    STANDS_UNTIL_PROPERTY,
    RetentionSnapshot,
    classify,
    standing_in,
)
from zfstm.timemachine.timefmt import parse_utc
from zfstm.zfs import DatasetName, DestroyReport, SnapshotInfo, SnapshotName, SnapshotProperty, ZfsBackend

#: What the live planner reads: creation (names that do not encode their time), userrefs (to fetch hold tags only
#: where there are holds) and used (the lower bound of reclaimable space).
LISTING_PROPERTIES = (SnapshotProperty.CREATION, SnapshotProperty.USERREFS, SnapshotProperty.USED)


@attrs.frozen
class Listing:
    """A dataset's snapshots as retention sees them, plus each one's ``used`` bytes."""

    dataset: DatasetName
    snapshots: tuple[RetentionSnapshot, ...]
    used: dict[str, int] = attrs.field(factory=dict, eq=False)


def read_snapshots(
    backend: ZfsBackend,
    dataset: DatasetName,
    *,
    naming: NamingScheme = DEFAULT_SCHEME,
    adopted: Sequence[NamingScheme] = (),
    pick_last: bool = True,
) -> Listing:
    """List ``dataset``'s snapshots with what retention needs (holds are read only where userrefs > 0).

    ``pick_last`` (the policy's ``pick = last``) places a snapshot that stood for skipped empty ones at its
    ``zfstm:stands-until`` time, as `zfstm run` does, so that `plan` and `prune` decide the same.
    """
    infos = backend.list_snapshots(
        dataset, properties=LISTING_PROPERTIES, user_props=(MANAGED_PROPERTY, STANDS_UNTIL_PROPERTY)
    )
    snapshots = []
    used: dict[str, int] = {}
    for info in infos:
        view = _retention_view(backend, info, naming, adopted)
        until = parse_utc(info.user_props.get(STANDS_UNTIL_PROPERTY, ""))
        snapshots.append(standing_in(view, until, pick_last=pick_last))
        if info.used is not None:
            used[info.name.full] = info.used
    return Listing(dataset, tuple(snapshots), used)


def _retention_view(
    backend: ZfsBackend, info: SnapshotInfo, naming: NamingScheme, adopted: Sequence[NamingScheme]
) -> RetentionSnapshot:
    if info.creation is None:
        raise ZfsError("the listing has no creation time", dataset=info.name.full, operation="list")
    holds = frozenset(backend.holds(info.name)) if info.userrefs else frozenset[str]()
    return classify(
        info.name.full,
        info.creation,
        holds=holds,
        user_props=dict(info.user_props),
        naming=naming,
        adopted=adopted,
    )


def dataset_usage(backend: ZfsBackend, dataset: DatasetName, basis: str) -> float:
    """Used fraction of the dataset (used / (used + available)) or of its pool's root dataset."""
    target = DatasetName(dataset.pool) if basis == "pool" else dataset
    values = backend.get_properties(target, ["used", "available"])
    used, available = int(values["used"] or 0), int(values["available"] or 0)
    return used / (used + available) if used + available else 0.0


def apply_plan(plan: Plan, backend: ZfsBackend, *, force: bool = False) -> DestroyReport:
    """Destroy what the plan says in one batched call, after its safety check (raises SafetyRefusal)."""
    plan.check(force=force)
    names = [SnapshotName.parse(name) for name in plan.destroy_names]
    if not names:
        return DestroyReport(())
    return backend.destroy_snapshots(names)


@attrs.frozen
class SpaceEstimate:
    """Bytes a destroy would free, and how that figure was obtained."""

    bytes: int
    method: str
    exact: bool


def estimate_reclaim(backend: ZfsBackend, names: Sequence[str], used: dict[str, int]) -> SpaceEstimate:
    """What destroying ``names`` together would free.

    Exact: the backend's reclaimable_space, ZFS's own dry run ``zfs destroy -nvp fs@a,b,c`` (counting blocks shared
    only among the destroyed snapshots). Otherwise (the fake backend, an argument over the limit, or zfs refuses
    the dry run) the sum of ``used``, which is a lower bound: ``used`` counts only blocks unique to one snapshot.
    """
    lower_bound = SpaceEstimate(sum(used.get(name, 0) for name in names), "sum of used (lower bound)", exact=False)
    if not names:
        return lower_bound
    try:
        reclaim = backend.reclaimable_space([SnapshotName.parse(name) for name in names])
    except ZfsError:
        return lower_bound
    if reclaim is None:
        return lower_bound
    return SpaceEstimate(reclaim, "zfs destroy -nvp", exact=True)
