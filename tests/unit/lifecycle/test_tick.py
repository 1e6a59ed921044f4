"""The tick shell over the fake backend with a fixed clock: the whole snapshot life-cycle of a share."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.unit.lifecycle.world import CNID, DATA, make_world
from tests.unit.timemachine.fixtures import NOW
from zfstm.errors import ZfsPermissionDenied
from zfstm.lifecycle.report import report_text
from zfstm.lock import acquire
from zfstm.timemachine.due import DueAction


def test_first_tick_snapshots_share_and_cnid_in_one_txg_and_holds_known_good(tmp_path: Path) -> None:
    """A completed, quiet, verified share is snapshotted with its CNID dataset atomically and becomes known-good."""
    world = make_world(tmp_path)
    report = world.tick()
    assert report.exit_code == 0
    data, cnid = world.snapshots(DATA), world.snapshots(CNID)
    assert [s.name.short for s in data] == ["zfstm-20261128T120000Z"]
    assert [s.name.short for s in cnid] == ["zfstm-20261128T120000Z"]
    assert data[0].createtxg == cnid[0].createtxg
    assert data[0].user_props["zfstm:tm-verification"] == "ok"
    assert world.held(DATA) == [data[0].name.full]
    assert world.held(CNID) == [cnid[0].name.full]


def test_no_snapshot_while_backup_in_progress_then_one_after_quiet(tmp_path: Path) -> None:
    """Bands newer than the last completion mean in progress; after completion and the quiet period one is taken."""
    world = make_world(tmp_path)
    world.tick()
    world.now = NOW + timedelta(minutes=20)
    world.touch_bands(world.now - timedelta(minutes=1))
    report = world.tick()
    assert report.plan.decisions[0].due.action is DueAction.WAIT
    assert report.plan.decisions[0].activity.state.value == "in_progress"
    assert report.snapshots == ()
    completed = NOW + timedelta(minutes=55)
    world.backup(completed)
    world.now = NOW + timedelta(minutes=60)
    assert world.tick().snapshots == ()  # completed 5 minutes ago: still settling
    world.now = NOW + timedelta(minutes=70)
    report = world.tick()
    assert report.plan.decisions[0].due.trigger is not None
    assert report.plan.decisions[0].due.trigger.value == "completion"
    data = world.snapshots(DATA)
    assert len(data) == 2
    assert world.held(DATA) == [data[1].name.full]  # the hold moved forward, the old one was released
    assert world.held(CNID) == [world.snapshots(CNID)[1].name.full]
    assert data[1].createtxg == world.snapshots(CNID)[1].createtxg


def test_failed_verification_snapshot_is_marked_and_never_known_good(tmp_path: Path) -> None:
    """A snapshot taken while Time Machine reports a failed verification says so and does not get the hold."""
    world = make_world(tmp_path)
    world.tick()
    first = world.snapshots(DATA)[0].name.full
    world.backup(NOW + timedelta(hours=1), verification_state=2)
    world.now = NOW + timedelta(hours=2)
    report = world.tick()
    assert len(report.snapshots) == 2
    newest = world.snapshots(DATA)[-1]
    assert newest.user_props["zfstm:tm-verification"] == "failed"
    assert world.held(DATA) == [first]


def test_written_growth_between_looks_means_in_progress(tmp_path: Path) -> None:
    """`written` growing by more than the noise allowance since the previous tick keeps the share in progress."""
    world = make_world(tmp_path)
    world.tick()  # snapshot: the next look counts `written` from 0
    world.now = NOW + timedelta(minutes=15)
    world.write(50 * 1024 * 1024)
    report = world.tick()
    assert report.plan.decisions[0].activity.state.value == "in_progress"
    assert "bytes written" in report.plan.decisions[0].activity.reason
    world.now = NOW + timedelta(minutes=30)
    report = world.tick()  # no further growth: the signal is quiet again
    assert report.plan.decisions[0].activity.state.value == "completed_and_quiet"


def test_empty_snapshot_is_skipped_and_the_previous_one_stands_for_the_slot(tmp_path: Path) -> None:
    """When the maximum interval passes with `written` 0, no snapshot is taken; the last one gets stands-until."""
    world = make_world(tmp_path)
    world.tick()
    world.now = NOW + timedelta(hours=25)
    report = world.tick()
    decision = report.plan.decisions[0]
    assert decision.due.action is DueAction.SKIP_EMPTY
    assert report.snapshots == ()
    snap = world.snapshots(DATA)[0].name
    assert world.backend.get_properties(snap, ["zfstm:stands-until"]) == {"zfstm:stands-until": "2026-11-29T13:00:00Z"}


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    """--dry-run plans the snapshot and the hold but creates, holds and destroys nothing."""
    world = make_world(tmp_path)
    report = world.tick(dry_run=True)
    assert [name.full for name in report.plan.batches[0].names] == [
        "tank/tm@zfstm-20261128T120000Z",
        "tank/cnid@zfstm-20261128T120000Z",
    ]
    assert report.plan.upkeep[0].known_good == "tank/tm@zfstm-20261128T120000Z"
    assert world.snapshots(DATA) == []


def test_busy_target_is_skipped_with_exit_5(tmp_path: Path) -> None:
    """While another run holds the target's lock, a tick takes nothing and reports busy (exit code 5)."""
    world = make_world(tmp_path)
    with acquire("tm", tmp_path / "run"):
        report = world.tick()
    assert report.busy == ("tm",)
    assert report.exit_code == 5
    assert world.snapshots(DATA) == []
    assert world.tick().exit_code == 0  # the lock went away with its holder


def test_manual_snapshot_during_backup_is_taken_but_not_known_good(tmp_path: Path) -> None:
    """`zfstm snapshot` takes one even while a backup runs, records in_progress, and does not move the hold."""
    world = make_world(tmp_path)
    world.tick()
    world.now = NOW + timedelta(minutes=30)
    world.touch_bands(world.now - timedelta(minutes=1))
    report = world.tick(manual=True, prune=False)
    assert len(report.snapshots) == 2
    newest = world.snapshots(DATA)[-1]
    assert newest.user_props["zfstm:activity"] == "in_progress"
    assert world.held(DATA) == [world.snapshots(DATA)[0].name.full]


def _old_history(world: object, hours: int) -> None:
    from tests.unit.lifecycle.world import World

    assert isinstance(world, World)
    for hour in range(hours, 0, -1):
        when = NOW - timedelta(days=2, hours=hour)
        short = world.config.naming.scheme.format(when)
        world.backend.snapshot([DATA.snapshot(short), CNID.snapshot(short)], {"zfstm:managed": "yes"})


def test_prune_refused_by_circuit_breaker_exits_4(tmp_path: Path) -> None:
    """Destroying most of a dataset's snapshots at once is refused (exit 4) and nothing is destroyed."""
    world = make_world(tmp_path)
    _old_history(world, 30)
    report = world.tick()
    assert report.exit_code == 4
    assert report.refusals[0].target == "tm"
    assert len(world.snapshots(DATA)) == 31


def test_prune_destroys_per_policy_and_cnid_follows(tmp_path: Path) -> None:
    """Retention destroys old hourly snapshots; their CNID partners go too; known-good and newest stay."""
    world = make_world(tmp_path, "[targets.retention]\nmax_destroy_share = 1")
    _old_history(world, 30)
    report = world.tick()
    assert report.exit_code == 0
    data = {s.name.short for s in world.snapshots(DATA)}
    cnid = {s.name.short for s in world.snapshots(CNID)}
    assert len(data) < 31
    assert data == cnid
    assert "zfstm-20261128T120000Z" in data
    assert world.held(DATA) == ["tank/tm@zfstm-20261128T120000Z"]


def test_failed_snapshot_is_reported_as_not_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The text report never says "took" for a snapshot ZFS refused; the failure names the target and the step."""
    world = make_world(tmp_path)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise ZfsPermissionDenied("permission denied", dataset=str(DATA), operation="snapshot")

    monkeypatch.setattr(type(world.backend), "snapshot", refuse)
    report = world.tick()
    text = report_text(report)
    assert report.exit_code == ZfsPermissionDenied.exit_code
    assert "snapshot: failed to take" in text
    assert "snapshot: took" not in text
    assert world.snapshots(DATA) == []
