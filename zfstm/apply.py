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
from zfstm.retention.snapshots import MANAGED_PROPERTY, RetentionSnapshot, classify
from zfstm.zfs import DatasetName, DestroyReport, SnapshotInfo, SnapshotName, SnapshotProperty, ZfsBackend
from zfstm.zfs.cli import run_subprocess

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
) -> Listing:
    """List ``dataset``'s snapshots with what retention needs (holds are read only where userrefs > 0)."""
    infos = backend.list_snapshots(dataset, properties=LISTING_PROPERTIES, user_props=(MANAGED_PROPERTY,))
    snapshots = []
    used: dict[str, int] = {}
    for info in infos:
        snapshots.append(_retention_view(backend, info, naming, adopted))
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


RECLAIM_ARGUMENT_LIMIT = 100 * 1024


@attrs.frozen
class SpaceEstimate:
    """Bytes a destroy would free, and how that figure was obtained."""

    bytes: int
    method: str
    exact: bool


def estimate_reclaim(backend: ZfsBackend, names: Sequence[str], used: dict[str, int]) -> SpaceEstimate:
    """What destroying ``names`` together would free.

    Exact: ``zfs destroy -nvp fs@a,b,c`` (a dry run ZFS computes itself, counting blocks shared only among the
    destroyed snapshots), run through the CLI backend's prefix, or locally for the lzc backend. Otherwise (the fake
    backend, or zfs refuses the dry run) the sum of ``used``, which is a lower bound: ``used`` counts only blocks
    unique to one snapshot.
    """
    lower_bound = SpaceEstimate(sum(used.get(name, 0) for name in names), "sum of used (lower bound)", exact=False)
    if not names or backend.kind not in {"cli", "lzc"}:
        return lower_bound
    by_dataset: dict[str, list[str]] = {}
    for name in names:
        dataset, _, short = name.partition("@")
        by_dataset.setdefault(dataset, []).append(short)
    total = 0
    for dataset, shorts in by_dataset.items():
        argument = f"{dataset}@{','.join(shorts)}"
        if len(argument) > RECLAIM_ARGUMENT_LIMIT:
            return lower_bound  # one argument must stay below the kernel's limit (128 KiB on Linux)
        argv = ["zfs", "destroy", "-nvp", argument]
        command = getattr(backend, "command", None)
        runner = getattr(backend, "runner", run_subprocess)
        done = runner(command(argv) if callable(command) else argv)
        reclaim = _reclaim_bytes(done.stdout) if done.returncode == 0 else None
        if reclaim is None:
            return lower_bound
        total += reclaim
    return SpaceEstimate(total, "zfs destroy -nvp", exact=True)


def _reclaim_bytes(stdout: str) -> int | None:
    for line in stdout.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == "reclaim" and fields[1].isdigit():
            return int(fields[1])
    return None
