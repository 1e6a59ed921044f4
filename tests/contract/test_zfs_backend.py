"""The ZFS backend contract: every assertion here holds for the fake, lzc, CLI and CLI-through-a-prefix backends."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from tests.contract.conftest import Site
from zfstm.errors import (
    DatasetExists,
    DatasetNotFound,
    DuplicateSnapshots,
    HoldExists,
    HoldNotFound,
    InvalidName,
    PoolsDiffer,
    SnapshotCloned,
    SnapshotExists,
    SnapshotHeld,
    SnapshotNotLatest,
    ZfsError,
    ZfsPermissionDenied,
)
from zfstm.zfs import DatasetName, DestroyOutcome, HoldTag, SnapshotName, SnapshotProperty

KEEP = HoldTag("zfstm-keep")


def shorts(site: Site, dataset: DatasetName) -> list[str]:
    return [info.name.short for info in site.zfs.list_snapshots(dataset)]


# -- snapshot ----------------------------------------------------------------------------------------------------


def test_snapshot_is_listed_oldest_first(site: Site) -> None:
    """Snapshots taken one after another are listed in creation order with distinct guids and rising createtxg."""
    fs = site.fs("a")
    site.snap(fs, "one", "two", "three 3")
    infos = site.zfs.list_snapshots(fs)
    assert [i.name.short for i in infos] == ["one", "two", "three 3"]
    assert len({i.guid for i in infos}) == 3
    assert infos[0].createtxg < infos[1].createtxg < infos[2].createtxg
    assert all(i.creation is None and i.userrefs is None for i in infos)


def test_atomic_snapshot_of_many_datasets_shares_one_createtxg(site: Site) -> None:
    """One snapshot call over several datasets of a pool creates all of them in one transaction group."""
    datasets = [site.fs(f"d{i}") for i in range(5)]
    site.zfs.snapshot([d.snapshot("together") for d in datasets])
    txgs = {site.zfs.list_snapshots(d)[0].createtxg for d in datasets}
    assert len(txgs) == 1


def test_snapshot_user_properties_are_set_and_listed_on_request(site: Site) -> None:
    """User properties given at snapshot time are set on every snapshot and listed only when asked for."""
    fs = site.fs("a")
    site.zfs.snapshot([fs.snapshot("s")], {"zfstm:label": "hourly", "zfstm:note": "a b"})
    site.snap(fs, "plain")
    listed = site.zfs.list_snapshots(fs, user_props=["zfstm:label", "zfstm:note", "zfstm:absent"])
    assert dict(listed[0].user_props) == {"zfstm:label": "hourly", "zfstm:note": "a b"}
    assert dict(listed[1].user_props) == {}
    assert dict(site.zfs.list_snapshots(fs)[0].user_props) == {}
    assert site.zfs.get_properties(fs.snapshot("s"), ["zfstm:label", "zfstm:absent"]) == {
        "zfstm:label": "hourly",
        "zfstm:absent": None,
    }


def test_snapshot_refuses_all_when_one_exists(site: Site) -> None:
    """An atomic snapshot where one name is taken creates none of the names (SnapshotExists)."""
    a, b = site.fs("a"), site.fs("b")
    site.snap(a, "x")
    with pytest.raises(SnapshotExists):
        site.zfs.snapshot([b.snapshot("x"), a.snapshot("x")])
    assert shorts(site, b) == []


def test_snapshot_of_missing_dataset(site: Site) -> None:
    """Snapshotting a dataset that does not exist raises DatasetNotFound."""
    with pytest.raises(DatasetNotFound):
        site.zfs.snapshot([site.root.child("missing").snapshot("x")])


def test_snapshot_checks_pool_and_duplicates_before_zfs(site: Site) -> None:
    """Names across pools raise PoolsDiffer, two names of one dataset DuplicateSnapshots, non-user props InvalidName."""
    fs = site.fs("a")
    with pytest.raises(PoolsDiffer):
        site.zfs.snapshot([fs.snapshot("x"), DatasetName("otherpool/a").snapshot("x")])
    with pytest.raises(DuplicateSnapshots):
        site.zfs.snapshot([fs.snapshot("x"), fs.snapshot("y")])
    with pytest.raises(InvalidName):
        site.zfs.snapshot([fs.snapshot("x")], {"compression": "on"})
    assert shorts(site, fs) == []


# -- listing -----------------------------------------------------------------------------------------------------


def test_list_slow_properties_on_request(site: Site) -> None:
    """Slow columns come back typed when asked: creation as aware UTC near now, userrefs counting holds."""
    fs = site.fs("a")
    (snap,) = site.snap(fs, "s")
    site.zfs.hold([snap], KEEP)
    (info,) = site.zfs.list_snapshots(fs, properties=list(SnapshotProperty))
    assert info.creation is not None and info.creation.tzinfo is not None
    assert abs(info.creation - datetime.now(UTC)) < timedelta(minutes=5)
    assert info.userrefs == 1
    assert info.used is not None and info.referenced is not None and info.written is not None


def test_list_only_own_snapshots(site: Site) -> None:
    """Listing a dataset does not include its children's snapshots."""
    parent = site.fs("p")
    child = site.fs("p/c")
    site.snap(child, "childsnap")
    site.snap(parent, "parentsnap")
    assert shorts(site, parent) == ["parentsnap"]


def test_list_missing_dataset(site: Site) -> None:
    """Listing the snapshots of a missing dataset raises DatasetNotFound."""
    with pytest.raises(DatasetNotFound):
        site.zfs.list_snapshots(site.root.child("missing"))


# -- destroy -----------------------------------------------------------------------------------------------------


def test_destroy_batch(site: Site) -> None:
    """A batch destroy removes every named snapshot and nothing else."""
    fs = site.fs("a")
    names = site.snap(fs, *(f"s{i}" for i in range(6)))
    report = site.zfs.destroy_snapshots(names[:5])
    assert report.ok and set(report.destroyed) == set(names[:5])
    assert shorts(site, fs) == ["s5"]


def test_destroy_strips_held_snapshot_and_destroys_the_rest(site: Site) -> None:
    """A held snapshot in a batch is reported HELD and kept; every other name is destroyed."""
    fs = site.fs("a")
    names = site.snap(fs, "s0", "s1", "s2", "s3")
    site.zfs.hold([names[1]], KEEP)
    report = site.zfs.destroy_snapshots(names)
    assert report.outcome_of(names[1]) is DestroyOutcome.HELD
    assert set(report.destroyed) == {names[0], names[2], names[3]}
    assert [r.name for r in report.refused] == [names[1]]
    assert shorts(site, fs) == ["s1"]


def test_destroy_strips_cloned_snapshot(site: Site) -> None:
    """A snapshot with a dependent clone is reported CLONED and kept; the rest are destroyed."""
    fs = site.fs("a")
    names = site.snap(fs, "s0", "s1", "s2")
    site.zfs.clone(names[2], site.root.child("clone"))
    report = site.zfs.destroy_snapshots(names)
    assert report.outcome_of(names[2]) is DestroyOutcome.CLONED
    assert set(report.destroyed) == {names[0], names[1]}
    assert shorts(site, fs) == ["s2"]


def test_destroy_mixed_refusals_and_missing_across_datasets(site: Site) -> None:
    """Held, cloned, missing and plain names across two datasets each get their own outcome."""
    a, b = site.fs("a"), site.fs("b")
    sa = site.snap(a, "1", "2", "3")
    sb = site.snap(b, "1", "2")
    site.zfs.hold([sa[0]], KEEP)
    site.zfs.clone(sb[1], site.root.child("clone"))
    missing = a.snapshot("never")
    report = site.zfs.destroy_snapshots([*sa, missing, *sb])
    assert [r.name for r in report.results] == [*sa, missing, *sb]
    assert report.outcome_of(sa[0]) is DestroyOutcome.HELD
    assert report.outcome_of(sb[1]) is DestroyOutcome.CLONED
    assert report.outcome_of(missing) is DestroyOutcome.NOT_FOUND
    assert set(report.destroyed) == {sa[1], sa[2], sb[0]}
    assert not report.ok


def test_destroy_in_missing_dataset_is_not_found(site: Site) -> None:
    """Names in a dataset that does not exist are NOT_FOUND, not an error."""
    name = site.root.child("missing").snapshot("x")
    report = site.zfs.destroy_snapshots([name])
    assert report.outcome_of(name) is DestroyOutcome.NOT_FOUND and report.ok


# -- holds -------------------------------------------------------------------------------------------------------


def test_hold_list_release(site: Site) -> None:
    """hold puts a tag on every snapshot, holds lists it with its time, release removes it."""
    fs = site.fs("a")
    names = site.snap(fs, "s0", "s1")
    site.zfs.hold(names, KEEP)
    for name in names:
        held = site.zfs.holds(name)
        assert list(held) == [KEEP.value]
        assert abs(held[KEEP.value] - datetime.now(UTC)) < timedelta(minutes=5)
    site.zfs.release(names, KEEP)
    assert site.zfs.holds(names[0]) == {}


def test_hold_twice_raises_hold_exists_and_adds_nothing(site: Site) -> None:
    """Holding with a tag a snapshot already carries raises HoldExists and leaves the others unheld."""
    fs = site.fs("a")
    names = site.snap(fs, "s0", "s1")
    site.zfs.hold([names[1]], KEEP)
    with pytest.raises(HoldExists):
        site.zfs.hold(names, KEEP)
    assert site.zfs.holds(names[0]) == {}


def test_hold_missing_snapshot_raises_and_adds_nothing(site: Site) -> None:
    """Holding a set with a missing snapshot raises DatasetNotFound and leaves no hold on the others."""
    fs = site.fs("a")
    (name,) = site.snap(fs, "s0")
    with pytest.raises(DatasetNotFound):
        site.zfs.hold([name, fs.snapshot("missing")], KEEP)
    assert site.zfs.holds(name) == {}


def test_release_unknown_tag(site: Site) -> None:
    """Releasing a tag a snapshot does not carry raises HoldNotFound."""
    fs = site.fs("a")
    (name,) = site.snap(fs, "s0")
    with pytest.raises(HoldNotFound):
        site.zfs.release([name], KEEP)


def test_holds_of_missing_snapshot(site: Site) -> None:
    """Asking for the holds of a missing snapshot raises DatasetNotFound."""
    with pytest.raises(DatasetNotFound):
        site.zfs.holds(site.fs("a").snapshot("missing"))


# -- rollback ----------------------------------------------------------------------------------------------------


def test_rollback_to_latest_restores_contents(site: Site) -> None:
    """Rolling back to the latest snapshot restores the contents it captured."""
    fs = site.fs("a")
    site.write(fs, "good")
    (snap,) = site.snap(fs, "good")
    site.write(fs, "broken")
    report = site.zfs.rollback_to(snap)
    assert report.results == ()
    assert site.read(fs) == "good"


def test_rollback_refuses_when_newer_snapshots_exist(site: Site) -> None:
    """With newer snapshots present, rollback raises SnapshotNotLatest and changes nothing."""
    fs = site.fs("a")
    site.write(fs, "one")
    names = site.snap(fs, "s1", "s2", "s3")
    site.write(fs, "now")
    with pytest.raises(SnapshotNotLatest):
        site.zfs.rollback_to(names[0])
    assert shorts(site, fs) == ["s1", "s2", "s3"]
    assert site.read(fs) == "now"


def test_rollback_destroys_newer_when_asked(site: Site) -> None:
    """destroy_newer destroys the newer snapshots in one batch, reports them, then rolls back."""
    fs = site.fs("a")
    site.write(fs, "one")
    names = site.snap(fs, "s1")
    site.write(fs, "two")
    names += site.snap(fs, "s2", "s3")
    report = site.zfs.rollback_to(names[0], destroy_newer=True)
    assert set(report.destroyed) == {names[1], names[2]}
    assert shorts(site, fs) == ["s1"]
    assert site.read(fs) == "one"


def test_rollback_with_held_newer_snapshot_changes_nothing(site: Site) -> None:
    """If a newer snapshot is held, rollback raises SnapshotHeld and destroys no snapshot at all."""
    fs = site.fs("a")
    site.write(fs, "one")
    names = site.snap(fs, "s1", "s2", "s3")
    site.zfs.hold([names[1]], KEEP)
    site.write(fs, "now")
    with pytest.raises(SnapshotHeld):
        site.zfs.rollback_to(names[0], destroy_newer=True)
    assert shorts(site, fs) == ["s1", "s2", "s3"]
    assert site.read(fs) == "now"


def test_rollback_with_cloned_newer_snapshot_changes_nothing(site: Site) -> None:
    """If a newer snapshot has a clone, rollback raises SnapshotCloned and destroys nothing."""
    fs = site.fs("a")
    names = site.snap(fs, "s1", "s2")
    site.zfs.clone(names[1], site.root.child("clone"))
    with pytest.raises(SnapshotCloned):
        site.zfs.rollback_to(names[0], destroy_newer=True)
    assert shorts(site, fs) == ["s1", "s2"]


def test_rollback_to_missing_snapshot(site: Site) -> None:
    """Rolling back to a snapshot that does not exist raises DatasetNotFound."""
    fs = site.fs("a")
    with pytest.raises(DatasetNotFound):
        site.zfs.rollback_to(fs.snapshot("missing"))


# -- datasets, clones, renames ----------------------------------------------------------------------------------


def test_create_and_exists(site: Site) -> None:
    """A created filesystem exists, a missing one does not; creating twice or under a missing parent fails."""
    fs = site.fs("a")
    assert site.zfs.exists(fs)
    assert not site.zfs.exists(site.root.child("nope"))
    assert not site.zfs.exists(fs.snapshot("nope"))
    with pytest.raises(DatasetExists):
        site.zfs.create_filesystem(fs)
    with pytest.raises(DatasetNotFound):
        site.zfs.create_filesystem(site.root.child("nope/child"))


def test_clone_and_promote(site: Site) -> None:
    """A clone starts with its snapshot's contents; promote moves the origin snapshot to the clone."""
    fs = site.fs("a")
    site.write(fs, "origin data")
    (snap,) = site.snap(fs, "base")
    clone = site.root.child("clone")
    site.zfs.clone(snap, clone)
    assert site.read(clone) == "origin data"
    assert site.zfs.get_properties(clone, ["origin"]) == {"origin": snap.full}
    site.zfs.promote(clone)
    assert shorts(site, clone) == ["base"]
    assert shorts(site, fs) == []
    assert site.zfs.get_properties(fs, ["origin"]) == {"origin": clone.snapshot("base").full}
    assert site.zfs.get_properties(clone, ["origin"]) == {"origin": None}


def test_promote_of_non_clone_fails(site: Site) -> None:
    """Promoting a filesystem that is not a clone raises a ZfsError."""
    with pytest.raises(ZfsError):
        site.zfs.promote(site.fs("a"))


def test_clone_onto_existing_or_from_missing(site: Site) -> None:
    """Cloning onto an existing name raises DatasetExists; from a missing snapshot DatasetNotFound."""
    fs = site.fs("a")
    (snap,) = site.snap(fs, "s")
    with pytest.raises(DatasetExists):
        site.zfs.clone(snap, fs)
    with pytest.raises(DatasetNotFound):
        site.zfs.clone(fs.snapshot("missing"), site.root.child("c"))


def test_rename_snapshot_and_dataset(site: Site) -> None:
    """Snapshots rename within their dataset, datasets within the pool; taken names are refused."""
    fs = site.fs("a")
    s1, s2 = site.snap(fs, "s1", "s2")
    site.zfs.rename(s1, fs.snapshot("renamed one"))
    assert shorts(site, fs) == ["renamed one", "s2"]
    with pytest.raises(SnapshotExists):
        site.zfs.rename(s2, fs.snapshot("renamed one"))
    moved = site.root.child("b")
    site.zfs.rename(fs, moved)
    assert site.zfs.exists(moved.snapshot("s2")) and not site.zfs.exists(fs)
    other = site.fs("c")
    with pytest.raises(DatasetExists):
        site.zfs.rename(moved, other)


def test_properties_get_and_set(site: Site) -> None:
    """set_property then get_properties round-trips native and user properties; unset ones read as None."""
    fs = site.fs("a")
    site.zfs.set_property(fs, "zfstm:role", "time machine")
    site.zfs.set_property(fs, "compression", "lz4")
    got = site.zfs.get_properties(fs, ["zfstm:role", "compression", "zfstm:unset"])
    assert got == {"zfstm:role": "time machine", "compression": "lz4", "zfstm:unset": None}
    with pytest.raises(DatasetNotFound):
        site.zfs.get_properties(site.root.child("missing"), ["compression"])


def test_local_properties_are_only_those_set_on_the_dataset(site: Site) -> None:
    """Properties set at creation or later are local; children and clones inherit nothing into that set."""
    fs = site.root.child("a")
    site.zfs.create_filesystem(fs, {"zfstm:role": "time machine"})
    site.zfs.set_property(fs, "compression", "lz4")
    own = site.zfs.local_properties(fs)
    assert {"zfstm:role": "time machine", "compression": "lz4"}.items() <= own.items()
    child = site.fs("a/child")
    (snap,) = site.snap(fs, "s")
    clone = site.root.child("clone")
    site.zfs.clone(snap, clone, {"zfstm:role": "copy"})
    for other, expected in ((child, None), (clone, "copy")):
        got = site.zfs.local_properties(other)
        assert "compression" not in got and got.get("zfstm:role") == expected
    with pytest.raises(DatasetNotFound):
        site.zfs.local_properties(site.root.child("missing"))


def test_has_children_counts_datasets_not_snapshots(site: Site) -> None:
    """A filesystem below makes has_children true; snapshots do not; a missing dataset raises DatasetNotFound."""
    parent = site.fs("p")
    child = site.fs("p/c")
    site.snap(child, "s")
    assert site.zfs.has_children(parent) is True
    assert site.zfs.has_children(child) is False
    with pytest.raises(DatasetNotFound):
        site.zfs.has_children(site.root.child("missing"))


MIB = 1024 * 1024


def _snapshot_then_forget(site: Site, dataset: DatasetName, *shorts: str) -> list[SnapshotName]:
    """Snapshots holding 1 MiB of uncompressed data that the live filesystem no longer has (one later snapshot
    syncs the deletion)."""
    site.zfs.set_property(dataset, "compression", "off")
    site.write(dataset, "x" * MIB)
    names = site.snap(dataset, *shorts)
    site.write(dataset, "")
    site.snap(dataset, "after")
    return names


def test_reclaimable_space_counts_blocks_shared_among_the_set(site: Site) -> None:
    """ZFS's dry run: data only in the named snapshots counts, also when two of them share it (where each
    one's `used` is ~0); datasets add up; missing names free nothing. The fake cannot tell (None)."""
    a, b = site.fs("a"), site.fs("b")
    (kept,) = _snapshot_then_forget(site, a, "kept")
    s1, s2 = _snapshot_then_forget(site, b, "s1", "s2")
    alone = site.zfs.reclaimable_space([s1])
    together = site.zfs.reclaimable_space([s1, s2])
    both = site.zfs.reclaimable_space([kept, s1, s2])
    assert site.zfs.reclaimable_space([]) == 0
    assert site.zfs.reclaimable_space([a.snapshot("gone")]) == 0
    assert site.zfs.reclaimable_space([kept, a.snapshot("gone")]) == site.zfs.reclaimable_space([kept])
    if site.real:
        assert alone is not None and together is not None and both is not None
        assert alone < MIB <= together
        assert both >= 2 * MIB
    else:
        assert alone is None and together is None and both is None


def test_reclaimable_space_refusals(site: Site) -> None:
    """A missing dataset raises DatasetNotFound; a cloned snapshot SnapshotCloned (the dry run checks clones)."""
    fs = site.fs("a")
    (snap,) = site.snap(fs, "s")
    with pytest.raises(DatasetNotFound):
        site.zfs.reclaimable_space([site.root.child("missing").snapshot("s")])
    site.zfs.clone(snap, site.root.child("clone"))
    with pytest.raises(SnapshotCloned):
        site.zfs.reclaimable_space([snap])


def test_destroy_dataset(site: Site) -> None:
    """A filesystem with snapshots needs recursive=True; then it and its snapshots are gone."""
    fs = site.fs("a")
    site.snap(fs, "s")
    with pytest.raises(ZfsError):
        site.zfs.destroy_dataset(fs)
    site.zfs.destroy_dataset(fs, recursive=True)
    assert not site.zfs.exists(fs)
    with pytest.raises(DatasetNotFound):
        site.zfs.destroy_dataset(fs)


# -- names -------------------------------------------------------------------------------------------------------

NAME_CASES = [
    # (short snapshot name, valid for ZFS)
    ("plain", True),
    ("with space", True),
    ("2024-05-01T10:00:00Z", True),
    ("a.b_c-d:e", True),
    ("bang!", False),
    ("per%cent", False),
    ("hash#tag", False),
    ("slash/inside", False),
    ("", False),
]


@pytest.mark.parametrize(("short", "valid"), NAME_CASES)
def test_snapshot_name_rules_match_zfs(site: Site, short: str, valid: bool) -> None:
    """zfstm accepts exactly the snapshot names ZFS accepts (on real ZFS both verdicts are compared)."""
    fs = site.fs("a")
    try:
        name: SnapshotName | None = fs.snapshot(short)
    except InvalidName:
        name = None
    assert (name is not None) == valid
    if name is not None:
        site.zfs.snapshot([name])
        assert site.zfs.exists(name)
    if site.real and short not in {"per%cent", ""}:  # '%' is accepted by ZFS but reserved by zfstm (names.py)
        done = subprocess.run(["zfs", "snapshot", f"{fs.full}@{short}x"], check=False, capture_output=True)
        assert (done.returncode == 0) == valid


def test_name_length_limit_matches_zfs(site: Site) -> None:
    """A 255-character snapshot name works; 256 characters are refused by zfstm and by ZFS alike."""
    fs = site.fs("a")
    room = 255 - len(fs.full) - 1
    longest = fs.snapshot("x" * room)
    site.zfs.snapshot([longest])
    assert site.zfs.exists(longest)
    with pytest.raises(InvalidName):
        fs.snapshot("y" * (room + 1))
    if site.real:
        done = subprocess.run(
            ["zfs", "snapshot", f"{fs.full}@{'y' * (room + 1)}"], check=False, capture_output=True, text=True
        )
        assert done.returncode != 0


# -- permissions -------------------------------------------------------------------------------------------------


def test_unprivileged_user_is_refused_but_can_list(site: Site) -> None:
    """A user without 'zfs allow' delegation may list, but snapshot, destroy, hold and rollback raise
    ZfsPermissionDenied and change nothing."""
    fs = site.fs("a")
    names = site.snap(fs, "s1", "s2")
    user = site.unprivileged()
    if site.kind != "lzc":  # the lzc stand-in runs each call in a child process; listing is CLI anyway
        assert [i.name.short for i in user.list_snapshots(fs)] == ["s1", "s2"]
    with pytest.raises(ZfsPermissionDenied):
        user.snapshot([fs.snapshot("s3")])
    with pytest.raises(ZfsPermissionDenied):
        user.destroy_snapshots(names)
    with pytest.raises(ZfsPermissionDenied):
        user.hold([names[0]], KEEP)
    with pytest.raises(ZfsPermissionDenied):
        user.rollback_to(names[0], destroy_newer=True)
    assert shorts(site, fs) == ["s1", "s2"]
    assert site.zfs.holds(names[0]) == {}
