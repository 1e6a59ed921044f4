"""Read snapshots through a ZFS backend into the one snapshot model (shell).

:func:`read_datasets` takes every dataset a tick (or any verb) needs, so that it asks ZFS once per pool: one
``list_datasets`` (the CLI: one ``zfs get`` of the datasets' own properties and one ``zfs list -t
snapshot,bookmark`` of all their snapshots and bookmarks, the ``zfstm:*`` properties as columns) and one
``holds_of`` for every snapshot that has any (``userrefs > 0``): at most three ``zfs`` processes per pool. When the
batched call fails (a dataset is missing, a hostile name or value trips the parser), each dataset of that pool is
read alone, so the failure is that dataset's only, as the tick's per-target isolation needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import attrs

from zfstm.errors import DatasetNotFound, ZfstmError
from zfstm.naming import NamingScheme
from zfstm.snapshots.memory import SNAPSHOTS_CHANGED, Memory, Remembered, trusted_stamp
from zfstm.snapshots.model import DatasetState, view_of
from zfstm.snapshots.tags import SNAPSHOT_PROPERTIES
from zfstm.zfs import DatasetName, SnapshotName, SnapshotProperty, ZfsBackend
from zfstm.zfs.types import DatasetListing

log = logging.getLogger("zfstm.snapshots")

T = TypeVar("T")

#: The native snapshot properties a listing reads.
LISTING = (SnapshotProperty.CREATION, SnapshotProperty.USED, SnapshotProperty.REFERENCED, SnapshotProperty.USERREFS)
#: The dataset's own properties read in the same batch: ``written`` (bytes since its newest snapshot) and the
#: mountpoint (where the share is when none is configured).
DATASET_PROPERTIES = ("written", "mountpoint")
#: Read as well when a dataset's space tier counts its own usage.
USAGE_PROPERTIES = ("used", "available")


def read_dataset(
    backend: ZfsBackend,
    dataset: DatasetName,
    *,
    naming: NamingScheme,
    adopted: Sequence[NamingScheme],
    written: bool = True,
    usage_basis: str | None = None,
) -> DatasetState:
    """One dataset's state (a batch of one); its error raised as it is."""
    usage = {dataset.full: usage_basis} if usage_basis is not None else {}
    return _states(backend, [dataset], naming=naming, adopted=adopted, written=written, usage=usage)[dataset.full]


def read_datasets(
    backend: ZfsBackend,
    datasets: Iterable[DatasetName],
    *,
    naming: NamingScheme,
    adopted: Sequence[NamingScheme],
    written: bool = True,
    usage: Mapping[str, str] | None = None,
    memory: Memory | None = None,
) -> dict[str, DatasetState | Exception]:
    """Each dataset's state, or the exception that kept it from being read, by full name (each dataset once).

    ``usage`` maps a dataset's full name to its space tier's basis (``dataset`` or ``pool``) where it has one.
    One batch per pool; a pool whose batch fails is read dataset by dataset. With ``memory`` (a tick's), a dataset
    whose snapshots have not changed since an earlier tick listed them is not listed again (zfstm.snapshots.memory).
    """
    return per_pool(
        datasets,
        lambda group: _states(
            backend, group, naming=naming, adopted=adopted, written=written, usage=usage or {}, memory=memory
        ),
    )


def listings(backend: ZfsBackend, datasets: Iterable[DatasetName]) -> dict[str, DatasetListing | Exception]:
    """Each dataset's snapshots and bookmarks on the fast path (name, guid, createtxg: no snapshot is opened), or
    the exception that kept it from being listed: one ``zfs list`` per pool. What a tick needs to confirm the
    snapshots it has just taken (see :func:`~zfstm.snapshots.model.after_taking`)."""
    return per_pool(datasets, backend.list_datasets)


def per_pool(
    datasets: Iterable[DatasetName], read: Callable[[list[DatasetName]], Mapping[str, T]]
) -> dict[str, T | Exception]:
    """``read`` once per pool; a pool whose call fails is read dataset by dataset, so a failure is one dataset's."""
    found: dict[str, T | Exception] = {}
    for group in pools_of(datasets).values():
        try:
            found.update(read(group))
            continue
        except Exception as exc:  # one dataset's trouble: find out which, below
            log.debug("batched listing of pool %s failed (%s); listing its datasets one by one", group[0].pool, exc)
        for dataset in group:
            try:
                found.update(read([dataset]))
            except Exception as exc:  # reported for this dataset only
                found[dataset.full] = exc
    return found


def pools_of(datasets: Iterable[DatasetName]) -> dict[str, list[DatasetName]]:
    """The datasets grouped by pool, each once, in the given order inside each pool."""
    groups: dict[str, list[DatasetName]] = {}
    for dataset in dict.fromkeys(datasets):
        groups.setdefault(dataset.pool, []).append(dataset)
    return groups


def _states(
    backend: ZfsBackend,
    datasets: Sequence[DatasetName],
    *,
    naming: NamingScheme,
    adopted: Sequence[NamingScheme],
    written: bool,
    usage: Mapping[str, str],
    memory: Memory | None = None,
) -> dict[str, DatasetState]:
    """One batch (one pool): one listing, one holds call, the pool's usage if a tier asks for it.

    With a usable ``memory``: first the datasets' own properties with ``snapshots_changed`` (one ``zfs get``), then
    the listing of only the datasets that cannot be recalled."""
    bases = {usage[d.full] for d in datasets if d.full in usage}
    own = (*DATASET_PROPERTIES, *(USAGE_PROPERTIES if "dataset" in bases else ()))
    listings, holds = _remembering(backend, datasets, own, memory) if memory is not None and memory.usable else ({}, {})
    if not listings:
        listings = backend.list_datasets(datasets, LISTING, SNAPSHOT_PROPERTIES, own)
        holds = _holds(backend, listings.values())
    pool = dataset_usage(backend, datasets[0], "pool") if "pool" in bases else None
    states = {}
    for dataset in datasets:
        listing = listings[dataset.full]
        basis = usage.get(dataset.full)
        states[dataset.full] = state_of(
            listing,
            {name: tags for name, tags in holds.items() if name.dataset == dataset},
            naming=naming,
            adopted=adopted,
            written=written,
            usage=pool if basis == "pool" else _fraction(listing.properties) if basis == "dataset" else None,
        )
    return states


def _holds(backend: ZfsBackend, listings: Iterable[DatasetListing]) -> dict[SnapshotName, frozenset[str]]:
    """The hold tags of every listed snapshot that has any (``userrefs > 0``): one ``holds_of`` call."""
    held = [info.name for listing in listings for info in listing.snapshots if info.userrefs]
    return {name: frozenset(tags) for name, tags in (backend.holds_of(held) if held else {}).items()}


def _remembering(
    backend: ZfsBackend, datasets: Sequence[DatasetName], own: Sequence[str], memory: Memory
) -> tuple[dict[str, DatasetListing], dict[SnapshotName, frozenset[str]]]:
    """The batch's listings and holds, recalled where ``snapshots_changed`` has not moved, listed (and remembered)
    where it has; ({}, {}) when ZFS does not know ``snapshots_changed`` (the memory is then off for this process)."""
    read_at = datetime.now(UTC)
    wanted = [*own, SNAPSHOTS_CHANGED]
    cold: dict[str, DatasetListing] | None = None
    try:
        if any(d.full in memory.known for d in datasets):
            values = backend.dataset_properties(datasets, wanted)
        else:  # nothing to recall: the one listing reads the stamps too (its zfs get runs before its zfs list)
            cold = backend.list_datasets(datasets, LISTING, SNAPSHOT_PROPERTIES, wanted)
            values = {name: dict(listing.properties) for name, listing in cold.items()}
    except DatasetNotFound:
        raise
    except ZfstmError as exc:  # no snapshots_changed here (illumos, OpenZFS < 2.2): list as without memory
        log.info("not remembering listings: %s", exc)
        memory.usable = False
        return {}, {}
    stamps = {d.full: values[d.full].get(SNAPSHOTS_CHANGED) for d in datasets}
    recalled = (
        {}
        if cold is not None
        else {d.full: r for d in datasets if (r := memory.recall(d.full, stamps[d.full], read_at)) is not None}
    )
    changed = [d for d in datasets if d.full not in recalled]
    if cold is not None:
        listed = cold
    else:
        listed = backend.list_datasets(changed, LISTING, SNAPSHOT_PROPERTIES) if changed else {}
    holds = _holds(backend, listed.values())
    for name, listing in listed.items():
        stamp = trusted_stamp(stamps[name], read_at)
        if stamp is not None:
            mine = {n: tags for n, tags in holds.items() if n.dataset == listing.dataset}
            memory.keep(name, Remembered(listing, mine, stamp, read_at))
    for remembered in recalled.values():
        holds.update(remembered.holds)
    listings = {**{name: r.listing for name, r in recalled.items()}, **listed}
    mine_values = {d.full: {p: values[d.full].get(p) for p in own} for d in datasets}
    return {name: attrs.evolve(listing, properties=mine_values[name]) for name, listing in listings.items()}, holds


def state_of(
    listing: DatasetListing,
    holds: Mapping[SnapshotName, frozenset[str]],
    *,
    naming: NamingScheme,
    adopted: Sequence[NamingScheme],
    written: bool = True,
    usage: float | None = None,
) -> DatasetState:
    """The model of one listed dataset (pure): each snapshot classified once, with its holds."""
    views = tuple(view_of(info, holds.get(info.name, frozenset()), naming, adopted) for info in listing.snapshots)
    value = listing.properties.get("written") if written else None
    return DatasetState(
        listing.dataset,
        views,
        int(value) if value is not None and value.isdigit() else None,
        usage,
        bookmarks=listing.bookmarks,
        mountpoint=listing.properties.get("mountpoint"),
    )


def _fraction(values: Mapping[str, str | None]) -> float:
    used, available = int(values.get("used") or 0), int(values.get("available") or 0)
    return used / (used + available) if used + available else 0.0


def dataset_usage(backend: ZfsBackend, dataset: DatasetName, basis: str) -> float:
    """Used fraction of the dataset (used / (used + available)) or of its pool's root dataset."""
    target = DatasetName(dataset.pool) if basis == "pool" else dataset
    return _fraction(backend.get_properties(target, USAGE_PROPERTIES))
