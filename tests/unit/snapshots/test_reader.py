"""The reader asks ZFS once per pool, and one dataset that cannot be read fails only itself (issue 13, issue 14)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs

from zfstm.errors import DatasetNotFound, ZfsError
from zfstm.naming import NamingScheme
from zfstm.snapshots.model import DatasetState
from zfstm.snapshots.reader import pools_of, read_dataset, read_datasets
from zfstm.zfs import DatasetName, HoldTag
from zfstm.zfs.fake import FakeBackend

NAMING = NamingScheme()
A, B, C = DatasetName("tank/a"), DatasetName("tank/b"), DatasetName("other/c")


@attrs.define
class Counting:
    """A backend that counts calls by method name and can make one listing of ``poison`` fail."""

    inner: FakeBackend
    calls: Counter[str] = attrs.Factory(Counter)
    poison: str = ""

    def list_datasets(self, datasets: Sequence[DatasetName], *args: Any) -> Any:
        self.calls["list_datasets"] += 1
        if any(d.full == self.poison for d in datasets):
            raise ZfsError("unexpected line", dataset=self.poison, operation="list")
        return self.inner.list_datasets(datasets, *args)

    def __getattr__(self, name: str) -> Any:
        self.calls[name] += 1
        return getattr(self.inner, name)


def world() -> Counting:
    fake = FakeBackend(pools=("tank", "other"))
    for dataset in (A, B, C):
        fake.create_filesystem(dataset)
        fake.snapshot([dataset.snapshot("s1")], {"zfstm:managed": "yes"})
        fake.snapshot([dataset.snapshot("s2")])
    fake.hold([A.snapshot("s1"), B.snapshot("s2")], HoldTag("zfstm-known-good"))
    return Counting(fake)


def test_pools_of_groups_by_pool_keeping_order_and_each_once() -> None:
    assert pools_of([B, C, A, B]) == {"tank": [B, A], "other": [C]}


def test_one_listing_and_one_holds_call_per_pool() -> None:
    backend = world()
    found = read_datasets(backend, [A, B, C, A], naming=NAMING, adopted=())
    assert backend.calls == Counter({"list_datasets": 2, "holds_of": 1})  # pool other holds nothing
    assert list(found) == [A.full, B.full, C.full]
    a, b = found[A.full], found[B.full]
    assert isinstance(a, DatasetState) and isinstance(b, DatasetState)
    assert [(v.name.short, v.holds, v.zfstm_owned) for v in a.snapshots] == [
        ("s1", frozenset({"zfstm-known-good"}), True),
        ("s2", frozenset(), False),
    ]
    assert [v.name.short for v in b.held("zfstm-known-good")] == ["s2"]
    assert a.mountpoint == "/tank/a"


def test_a_failed_batch_is_read_dataset_by_dataset() -> None:
    """A missing dataset or a listing that trips the parser fails that dataset only; the others are read."""
    backend = world()
    backend.poison = B.full
    missing = DatasetName("tank/missing")
    found = read_datasets(backend, [A, B, missing, C], naming=NAMING, adopted=())
    assert isinstance(found[B.full], ZfsError)
    assert isinstance(found[missing.full], DatasetNotFound)
    assert isinstance(found[A.full], DatasetState) and isinstance(found[C.full], DatasetState)
    assert backend.calls["list_datasets"] == 1 + 3 + 1  # tank's batch, its three datasets alone, other's batch


def test_read_dataset_is_a_batch_of_one() -> None:
    backend = world()
    state = read_dataset(backend, C, naming=NAMING, adopted=(), written=False)
    assert backend.calls == Counter({"list_datasets": 1})
    assert [v.name.short for v in state.snapshots] == ["s1", "s2"] and state.written is None
