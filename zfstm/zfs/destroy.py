"""Batched snapshot destruction that survives refusals: group, chunk, strip the refused names, retry the rest.

ZFS destroys a batch all or nothing: one held or cloned snapshot fails the whole ``lzc_destroy_snaps`` call (and the
``zfs destroy fs@a,b,c`` that wraps it). Tools that give up there (znapzend) stop pruning forever; tools that
destroy one name per call (sanoid) are ~20-100x slower. Here a refused batch is retried without the refused names,
so each round either destroys everything left or removes at least one name: at most n+1 rounds, usually two.

Order matters to the kernel: destroying a snapshot costs more the more later snapshots of its dataset still exist
(seen in the testbed: 300 snapshots in one call 65 ms each, in chunks of 30 newest first 42.5 ms each). ZFS runs
the names of one call in an order of its own, so when the creation order is known the libzfs_core backend sends them
newest first, in chunks small enough that the order mostly holds and large enough that the one transaction group
per chunk stays cheap. The CLI backend does not chunk: every ``zfs destroy fs@a,b,...`` walks all of the dataset's
snapshots to match the names, so 20 calls for 1,000 names cost more than the order saves (178 s against 101 s for
one call, seen in the testbed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from zfstm.zfs.names import SnapshotName
from zfstm.zfs.types import DestroyOutcome, DestroyResult

T = TypeVar("T")

#: What one attempt says about the names it could not destroy (empty: all of them were destroyed).
Refusals = Mapping[SnapshotName, tuple[DestroyOutcome, str]]
Attempt = Callable[[Sequence[SnapshotName]], Refusals]


def destroy_in_rounds(names: Sequence[SnapshotName], attempt: Attempt) -> dict[SnapshotName, DestroyResult]:
    """Call ``attempt`` until every name is destroyed or refused; results per name.

    ``attempt`` destroys all names it is given or none (ZFS's batch semantics) and returns the refused ones. If it
    refuses without naming any of the names given (an unparseable error), all remaining names are FAILED with
    the first message rather than retried blindly.
    """
    results: dict[SnapshotName, DestroyResult] = {}
    pending = list(dict.fromkeys(names))
    while pending:
        refused = attempt(pending)
        if not refused:
            results.update((n, DestroyResult(n, DestroyOutcome.DESTROYED)) for n in pending)
            break
        relevant = {n: v for n, v in refused.items() if n in set(pending)}
        if not relevant:
            message = next(iter(refused.values()))[1]
            results.update((n, DestroyResult(n, DestroyOutcome.FAILED, message)) for n in pending)
            break
        for name, (outcome, message) in relevant.items():
            results[name] = DestroyResult(name, outcome, message)
        pending = [n for n in pending if n not in relevant]
    return results


def group_by(names: Iterable[SnapshotName], key: Callable[[SnapshotName], str]) -> dict[str, list[SnapshotName]]:
    """Names grouped by ``key`` (pool or dataset), keeping the given order inside each group."""
    groups: dict[str, list[SnapshotName]] = {}
    for name in dict.fromkeys(names):
        groups.setdefault(key(name), []).append(name)
    return groups


#: Names per destroy call when they go newest first (the per-call cost vs the order kept: 50 balanced both).
NEWEST_FIRST_CHUNK = 50


def newest_first_chunks(
    names: Sequence[SnapshotName], createtxg: Mapping[SnapshotName, int], size: int = NEWEST_FIRST_CHUNK
) -> list[list[SnapshotName]]:
    """``names`` newest first (see :func:`newest_first`), in chunks of ``size``."""
    ordered = newest_first(names, createtxg)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def newest_first(names: Sequence[SnapshotName], createtxg: Mapping[SnapshotName, int]) -> list[SnapshotName]:
    """``names`` by ``createtxg``, newest first; names without one last, in their given order."""
    return sorted(names, key=lambda n: createtxg.get(n, -1), reverse=True)


def chunks_by_size(names: Sequence[T], budget: int, size: Callable[[T], int]) -> list[list[T]]:
    """Split ``names`` into consecutive chunks whose summed ``size`` stays within ``budget`` (at least one each)."""
    chunks: list[list[T]] = []
    current: list[T] = []
    used = 0
    for name in names:
        cost = size(name)
        if current and used + cost > budget:
            chunks.append(current)
            current, used = [], 0
        current.append(name)
        used += cost
    if current:
        chunks.append(current)
    return chunks
