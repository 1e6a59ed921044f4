"""Read snapshots through a ZFS backend into the one snapshot model (shell).

:func:`read_datasets` takes a set of datasets, so that a caller with many targets asks once; today it lists each
dataset with one ``list_snapshots`` call (the properties zfstm needs in the same call) plus one ``holds`` call per
snapshot that has any (``userrefs > 0``). One recursive listing per pool can replace the loop here without any
caller changing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from zfstm.naming import NamingScheme
from zfstm.snapshots.model import DatasetState, view_of
from zfstm.snapshots.tags import SNAPSHOT_PROPERTIES
from zfstm.zfs import DatasetName, SnapshotProperty, ZfsBackend

#: The native properties a listing reads.
LISTING = (SnapshotProperty.CREATION, SnapshotProperty.USED, SnapshotProperty.REFERENCED, SnapshotProperty.USERREFS)


def read_dataset(
    backend: ZfsBackend,
    dataset: DatasetName,
    *,
    naming: NamingScheme,
    adopted: Sequence[NamingScheme],
    written: bool = True,
    usage_basis: str | None = None,
) -> DatasetState:
    """List a dataset's snapshots with the properties the life-cycle needs (holds only where userrefs > 0)."""
    infos = backend.list_snapshots(dataset, properties=LISTING, user_props=SNAPSHOT_PROPERTIES)
    views = tuple(
        view_of(info, frozenset(backend.holds(info.name)) if info.userrefs else frozenset(), naming, adopted)
        for info in infos
    )
    value = backend.get_properties(dataset, ["written"]).get("written") if written else None
    usage = dataset_usage(backend, dataset, usage_basis) if usage_basis is not None else None
    return DatasetState(dataset, views, int(value) if value is not None and value.isdigit() else None, usage)


def read_datasets(
    backend: ZfsBackend,
    datasets: Iterable[DatasetName],
    *,
    naming: NamingScheme,
    adopted: Sequence[NamingScheme],
    written: bool = True,
) -> dict[str, DatasetState]:
    """Each dataset's state, by full name (each dataset once, whatever the order or repetition)."""
    return {
        dataset.full: read_dataset(backend, dataset, naming=naming, adopted=adopted, written=written)
        for dataset in dict.fromkeys(datasets)
    }


def dataset_usage(backend: ZfsBackend, dataset: DatasetName, basis: str) -> float:
    """Used fraction of the dataset (used / (used + available)) or of its pool's root dataset."""
    target = DatasetName(dataset.pool) if basis == "pool" else dataset
    values = backend.get_properties(target, ["used", "available"])
    used, available = int(values["used"] or 0), int(values["available"] or 0)
    return used / (used + available) if used + available else 0.0
