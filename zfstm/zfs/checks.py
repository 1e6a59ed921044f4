"""Argument checks every backend applies before calling ZFS, so all of them refuse the same things the same way.

Why not leave it to ZFS: libzfs_core answers a cross-pool snapshot with a bare EXDEV and the CLI with a generic
message; checking first gives one message naming the datasets, identical for lzc, CLI and the fake.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from zfstm.errors import DuplicateSnapshots, InvalidName, PoolsDiffer
from zfstm.zfs.names import SnapshotName, validate_user_property


def atomic_snapshot_batch(names: Iterable[SnapshotName], user_props: Mapping[str, str] | None) -> list[SnapshotName]:
    """The names of one atomic snapshot call, checked: not empty, one pool, one snapshot per dataset."""
    batch = list(names)
    if not batch:
        raise InvalidName("no snapshot names given", operation="snapshot")
    pools = sorted({name.pool for name in batch})
    if len(pools) > 1:
        raise PoolsDiffer(
            f"an atomic snapshot must stay in one pool, got pools {', '.join(pools)}; take one snapshot call per pool",
            dataset=batch[0].dataset.full,
            operation="snapshot",
        )
    seen: dict[str, SnapshotName] = {}
    for name in batch:
        other = seen.get(name.dataset.full)
        if other is not None:
            raise DuplicateSnapshots(
                f"both {other.full} and {name.full} name the same dataset; ZFS takes one snapshot per dataset per call",
                dataset=name.dataset.full,
                operation="snapshot",
            )
        seen[name.dataset.full] = name
    for prop, value in (user_props or {}).items():
        validate_user_property(prop)
        if "\n" in value or "\t" in value or "\0" in value:
            raise InvalidName(f"value of {prop} contains a tab, newline or NUL", operation="snapshot")
    return batch


def same_pool(names: Iterable[SnapshotName], operation: str) -> list[SnapshotName]:
    """The names as a list, refusing (PoolsDiffer) when they span pools, for hold/release batches."""
    batch = list(names)
    pools = sorted({name.pool for name in batch})
    if len(pools) > 1:
        raise PoolsDiffer(
            f"one call must stay in one pool, got pools {', '.join(pools)}",
            dataset=batch[0].dataset.full,
            operation=operation,
        )
    return batch
