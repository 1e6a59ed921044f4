"""Destroy rounds: refused names are stripped and the rest retried; chunks respect the size budget."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from zfstm.zfs.destroy import Refusals, chunks_by_size, destroy_in_rounds, group_by, newest_first_chunks
from zfstm.zfs.names import DatasetName, SnapshotName
from zfstm.zfs.types import DestroyOutcome

FS = DatasetName("tank/a")


@given(st.integers(0, 30), st.sets(st.integers(0, 29)))
def test_every_unrefused_name_is_destroyed(count: int, held_indexes: set[int]) -> None:
    """With any subset held, the held names end HELD, all others DESTROYED, in at most two successful rounds."""
    names = [FS.snapshot(f"s{i}") for i in range(count)]
    held = {names[i] for i in held_indexes if i < count}
    calls: list[list[SnapshotName]] = []
    destroyed: set[SnapshotName] = set()

    def attempt(batch: Sequence[SnapshotName]) -> Refusals:
        calls.append(list(batch))
        refused = {n: (DestroyOutcome.HELD, "dataset is busy") for n in batch if n in held}
        if not refused:
            destroyed.update(batch)
        return refused

    results = destroy_in_rounds(names, attempt)
    assert set(results) == set(names)
    assert destroyed == set(names) - held
    assert all(results[n].outcome is (DestroyOutcome.HELD if n in held else DestroyOutcome.DESTROYED) for n in names)
    assert len(calls) <= 2 if names else calls == []


def test_unparseable_refusal_fails_all_without_looping() -> None:
    """An attempt that refuses without naming any given name marks everything FAILED after one call."""
    names = [FS.snapshot("a"), FS.snapshot("b")]
    calls = []

    def attempt(batch: Sequence[SnapshotName]) -> Refusals:
        calls.append(batch)
        return {FS.snapshot("unrelated"): (DestroyOutcome.FAILED, "out of space")}

    results = destroy_in_rounds(names, attempt)
    assert len(calls) == 1
    assert {r.outcome for r in results.values()} == {DestroyOutcome.FAILED}
    assert results[names[0]].message == "out of space"


@given(st.lists(st.integers(1, 50), max_size=60), st.integers(50, 200))
def test_chunks_keep_order_and_budget(sizes: list[int], budget: int) -> None:
    """Chunks concatenate back to the input, and each stays within the budget."""
    names = [FS.snapshot(f"s{i}") for i in range(len(sizes))]
    cost = dict(zip(names, sizes, strict=True))
    chunks = chunks_by_size(names, budget, cost.__getitem__)
    assert [n for chunk in chunks for n in chunk] == names
    assert all(sum(cost[n] for n in chunk) <= budget for chunk in chunks)


def test_group_by_keeps_order_and_drops_duplicates() -> None:
    """Grouping keeps first-seen order inside each group and lists duplicates once."""
    a1, a2, b1 = FS.snapshot("1"), FS.snapshot("2"), DatasetName("tank/b").snapshot("1")
    assert group_by([a1, b1, a2, a1], lambda n: n.dataset.full) == {"tank/a": [a1, a2], "tank/b": [b1]}


@given(st.lists(st.integers(min_value=0, max_value=10**6), max_size=300), st.integers(min_value=1, max_value=60))
def test_newest_first_chunks_cover_every_name_once_in_creation_order(txgs: list[int], size: int) -> None:
    """Every name once; chunks of at most ``size``; creation order never increases across the chunks."""
    names = [DatasetName("tank/tm").snapshot(f"s{i}") for i in range(len(txgs))]
    known = {n: t for n, t in zip(names, txgs, strict=True) if t % 7}  # some without a createtxg
    chunks = newest_first_chunks(names, known, size)
    flat = [n for chunk in chunks for n in chunk]
    assert sorted(flat, key=str) == sorted(names, key=str)
    assert all(0 < len(chunk) <= size for chunk in chunks)
    order = [known.get(n, -1) for n in flat]
    assert order == sorted(order, reverse=True)
