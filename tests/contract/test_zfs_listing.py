"""The batched listing (``list_datasets``, ``holds_of``): several datasets in one call, the same answers as one by one.

Run on every backend like tests/contract/test_zfs_backend.py (the real ones only in the testbed).
"""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.contract.conftest import Site
from zfstm.errors import DatasetNotFound
from zfstm.zfs import HoldTag, SnapshotProperty

KEEP = HoldTag("zfstm-keep")
MANAGED = "zfstm:managed"
TRIGGER = "zfstm:trigger"


def test_list_datasets_is_list_snapshots_per_dataset(site: Site) -> None:
    """Each dataset's snapshots as ``list_snapshots`` gives them (oldest first, own user properties only), and its
    own properties; a child's snapshots stay the child's."""
    a, b = site.fs("a"), site.fs("a/b")
    site.snap(a, "a1", "a2")
    site.snap(b, "b1")
    site.zfs.set_property(a.snapshot("a2"), TRIGGER, "interval")
    site.zfs.hold([a.snapshot("a1")], KEEP)
    slow = [SnapshotProperty.CREATION, SnapshotProperty.USERREFS]
    listed = site.zfs.list_datasets([b, a, b], slow, [TRIGGER, MANAGED], ["written", "mountpoint"])
    assert list(listed) == [b.full, a.full]
    for dataset in (a, b):
        one = site.zfs.list_snapshots(dataset, slow, [TRIGGER, MANAGED])
        assert [(i.name, i.createtxg, i.userrefs, i.user_props) for i in listed[dataset.full].snapshots] == [
            (i.name, i.createtxg, i.userrefs, dict(i.user_props)) for i in one
        ]
        assert dict(listed[dataset.full].properties) == site.zfs.get_properties(dataset, ["written", "mountpoint"])
        assert listed[dataset.full].properties["mountpoint"]
    assert dict(listed[a.full].snapshots[1].user_props) == {TRIGGER: "interval"}
    assert listed[a.full].snapshots[0].userrefs == 1


def test_list_datasets_ignores_user_properties_inherited_from_the_dataset(site: Site) -> None:
    """A ``zfstm:*`` property set on the dataset is not a snapshot's own: it does not make a snapshot managed."""
    a, b = site.fs("a"), site.fs("b")
    site.zfs.set_property(a, MANAGED, "yes")
    site.snap(a, "s1", "s2")
    site.snap(b, "t1")
    site.zfs.set_property(a.snapshot("s2"), TRIGGER, "manual")
    listed = site.zfs.list_datasets([a, b], (), [MANAGED, TRIGGER])
    assert [dict(i.user_props) for i in listed[a.full].snapshots] == [{}, {TRIGGER: "manual"}]
    assert [dict(i.user_props) for i in listed[b.full].snapshots] == [{}]


def test_list_datasets_missing_dataset(site: Site) -> None:
    """All or nothing: one missing dataset fails the call with DatasetNotFound."""
    a = site.fs("a")
    with pytest.raises(DatasetNotFound):
        site.zfs.list_datasets([a, site.root.child("missing")], (), [MANAGED], ["written"])


def test_list_datasets_lists_bookmarks_beside_snapshots(site: Site) -> None:
    """Bookmarks come back beside the snapshots (the fake keeps none), never as snapshots."""
    if not site.real:
        pytest.skip("the fake keeps no bookmarks")
    a = site.fs("a")
    (snap,) = site.snap(a, "s1")
    subprocess.run(["zfs", "bookmark", snap.full, f"{a.full}#mark"], check=True)
    listed = site.zfs.list_datasets([a], [SnapshotProperty.CREATION], [MANAGED])[a.full]
    assert [i.name.short for i in listed.snapshots] == ["s1"]
    assert [(m.short, m.createtxg) for m in listed.bookmarks] == [("mark", listed.snapshots[0].createtxg)]


def test_holds_of_many_snapshots(site: Site) -> None:
    """Holds of snapshots of several datasets in one call; a snapshot without holds maps to {}."""
    a, b = site.fs("a"), site.fs("b")
    (s1,) = site.snap(a, "s1")
    t1, t2 = site.snap(b, "t1", "t2")
    site.zfs.hold([s1, t2], KEEP)
    found = site.zfs.holds_of([s1, t1, t2])
    assert {name.full: sorted(tags) for name, tags in found.items()} == {
        s1.full: [KEEP.value],
        t1.full: [],
        t2.full: [KEEP.value],
    }
    with pytest.raises(DatasetNotFound):
        site.zfs.holds_of([s1, a.snapshot("missing")])


def test_snapshot_infos_reads_snapshots_by_name_as_a_listing_does(site: Site) -> None:
    """By name, across datasets: what ``list_snapshots`` gives (own user properties only); a missing one is absent."""
    a, b = site.fs("a"), site.fs("b")
    site.zfs.set_property(a, TRIGGER, "inherited")
    a1, a2 = site.snap(a, "a1", "a2")
    (b1,) = site.snap(b, "b1")
    site.zfs.set_property(a2, MANAGED, "yes")
    site.zfs.hold([b1], KEEP)
    slow = [SnapshotProperty.CREATION, SnapshotProperty.USERREFS]
    found = site.zfs.snapshot_infos([a2, b1, a.snapshot("gone"), a1], slow, [MANAGED, TRIGGER])
    assert set(found) == {a1, a2, b1}
    for dataset in (a, b):
        for one in site.zfs.list_snapshots(dataset, slow, [MANAGED, TRIGGER]):
            got = found[one.name]
            assert (got.guid, got.createtxg, got.creation, got.userrefs, dict(got.user_props)) == (
                one.guid,
                one.createtxg,
                one.creation,
                one.userrefs,
                dict(one.user_props),
            )
    assert dict(found[a2].user_props) == {MANAGED: "yes"}
    assert dict(found[a1].user_props) == {}  # the dataset's zfstm:trigger is inherited, not the snapshot's
    assert found[b1].userrefs == 1
    assert site.zfs.snapshot_infos([site.root.child("missing").snapshot("x")]) == {}


def test_dataset_properties_of_several_datasets(site: Site) -> None:
    a, b = site.fs("a"), site.fs("b")
    site.zfs.set_property(b, TRIGGER, "x")
    found = site.zfs.dataset_properties([b, a], ["mountpoint", "written", TRIGGER])
    assert list(found) == [b.full, a.full]
    for dataset in (a, b):
        assert found[dataset.full] == site.zfs.get_properties(dataset, ["mountpoint", "written", TRIGGER])
    with pytest.raises(DatasetNotFound):
        site.zfs.dataset_properties([a, site.root.child("missing")], ["written"])


def test_snapshots_changed_moves_with_the_set_of_snapshots_only(site: Site) -> None:
    """What zfstm.snapshots.memory relies on: a snapshot created or destroyed moves ``snapshots_changed``; a hold or a
    property on a snapshot does not (those are read again before a destroy instead)."""
    a = site.fs("a")

    def stamp() -> str | None:
        value = site.zfs.dataset_properties([a], ["snapshots_changed"])[a.full]["snapshots_changed"]
        if site.real:
            time.sleep(1.1)  # whole seconds: the next change must land in another one
        return value

    (s1,) = site.snap(a, "s1")
    first = stamp()
    assert first is not None and first.isdigit()
    site.snap(a, "s2")
    second = stamp()
    assert second != first
    site.zfs.hold([s1], KEEP)
    site.zfs.set_property(s1, MANAGED, "yes")
    assert stamp() == second
    site.zfs.release([s1], KEEP)
    site.zfs.destroy_snapshots([s1])
    assert stamp() != second
