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
from zfstm.retention.policy import Pick
from zfstm.retention.snapshots import RetentionSnapshot
from zfstm.snapshots.model import retention_view
from zfstm.snapshots.reader import read_dataset
from zfstm.zfs import DatasetName, DestroyReport, SnapshotName, ZfsBackend


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
    """``dataset``'s snapshots as retention sees them, read through the one snapshot model
    (:mod:`zfstm.snapshots`): the same listing and classification as a tick's.

    ``pick_last`` (the policy's ``pick = last``) places a snapshot that stood for skipped empty ones at its
    ``zfstm:stands-until`` time, as `zfstm run` does, so that `plan` and `prune` decide the same.
    """
    state = read_dataset(backend, dataset, naming=naming, adopted=adopted, written=False)
    pick = Pick.LAST if pick_last else Pick.FIRST
    snapshots = []
    for view in state.snapshots:
        if view.creation is None:
            raise ZfsError("the listing has no creation time", dataset=view.name.full, operation="list")
        snapshots.append(retention_view(view, view.holds, pick=pick, naming=naming, adopted=adopted))
    used = {view.name.full: view.used for view in state.snapshots if view.used is not None}
    return Listing(dataset, tuple(snapshots), used)


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
