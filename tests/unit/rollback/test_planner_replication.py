"""The rollback plan beside replication: bookmarks are never destroyed and their fate is said first; a replicated
dataset's plan says what the next replication needs; a replica is never rolled back."""

from __future__ import annotations

import pytest

from zfstm.config.model import FileServerKind
from zfstm.errors import SafetyRefusal
from zfstm.rollback.model import DatasetFacts, Mode, RollbackFacts, RollbackRequest
from zfstm.rollback.planner import plan_rollback, replication_note
from zfstm.zfs.names import DatasetName

SYNC = "syncoid_host_2026-11-28:03:00:00-GMT00:00"


def facts(*, bookmarks: tuple[tuple[str, int], ...] = (), sync: bool = False, replica: bool = False) -> RollbackFacts:
    snapshots = [("s1", 10), ("s2", 20), ("s3", 30)] + ([(SYNC, 31)] if sync else [])
    data = DatasetFacts(DatasetName("tank/tm"), "/tank/tm", snapshots=tuple(snapshots), bookmarks=bookmarks)
    return RollbackFacts("tm", FileServerKind.NONE, "none", data, stamp="20261128T030000Z", replica=replica)


def test_discard_newer_refuses_past_a_newer_bookmark_naming_it() -> None:
    """ZFS refuses a rollback while a newer bookmark exists and zfstm destroys none: refused before any step."""
    with pytest.raises(SafetyRefusal, match=r"tank/tm#zrepl_CURSOR.*never destroys bookmarks"):
        marks = (("s1", 10), ("zrepl_CURSOR", 30))
        plan_rollback(facts(bookmarks=marks), RollbackRequest("tm", "s1", mode=Mode.DISCARD))


def test_bookmark_of_the_target_snapshot_or_older_does_not_block_discard() -> None:
    """A bookmark of the snapshot rolled back to (same createtxg) or older survives a rollback in place."""
    plan = plan_rollback(facts(bookmarks=(("old", 10), ("s2", 20))), RollbackRequest("tm", "s2", mode=Mode.DISCARD))
    assert not any("bookmark(s)" in w for w in plan.warnings)


def test_swap_says_the_newer_bookmarks_stay_with_the_kept_dataset() -> None:
    """The swap keeps newer bookmarks on the retired dataset; the plan names them and where they go."""
    plan = plan_rollback(facts(bookmarks=(("old", 10), ("cursor", 30))), RollbackRequest("tm", "s1"))
    (note,) = [w for w in plan.warnings if w.startswith("bookmark(s)")]
    assert "tank/tm#cursor" in note and "tank/tm.before-rollback-20261128T030000Z" in note
    assert "tank/tm#old" not in note


def test_replicated_dataset_plan_says_what_the_next_replication_needs() -> None:
    """A dataset with a syncoid snapshot: the plan names the common snapshot and syncoid's and zrepl's way on."""
    for mode in (Mode.SWAP, Mode.DISCARD):
        plan = plan_rollback(facts(sync=True), RollbackRequest("tm", "s2", mode=mode))
        (note,) = [w for w in plan.warnings if w.startswith("replication:")]
        assert "at most @s2" in note and SYNC in note and "zfs rollback -r REPLICA@s2" in note
        assert "--no-rollback" in note and "--force-delete" in note


def test_no_replication_note_without_evidence_or_without_newer_snapshots() -> None:
    """No syncoid/zrepl snapshot and no bookmark: no note; nothing newer: nothing diverges, no note."""
    plan = plan_rollback(facts(), RollbackRequest("tm", "s2"))
    assert not any(w.startswith("replication:") for w in plan.warnings)
    data = facts(sync=True).data
    assert replication_note(data, SYNC, ()) is None
    assert replication_note(data, "s3", data.newer_than("s3")) is not None


def test_replica_is_never_rolled_back() -> None:
    """A target marked replica = true: every rollback mode is refused."""
    for mode in Mode:
        with pytest.raises(SafetyRefusal, match="is a replica"):
            plan_rollback(facts(replica=True), RollbackRequest("tm", "s1", mode=mode))
