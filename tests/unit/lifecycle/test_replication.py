"""The tick beside replication: a replica target is pruned but never snapshotted or held; the after_known_good hook
runs once per new known-good snapshot, with its placeholders filled, and its failures never fail the tick."""

from __future__ import annotations

import logging
import sys
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from tests.unit.lifecycle.world import CNID, DATA, make_world
from tests.unit.timemachine.fixtures import NOW
from zfstm.config.model import HooksConfig
from zfstm.lifecycle.hooks import hook_argv, run_after_known_good
from zfstm.timemachine.due import DueAction

APPEND = "import sys; open(sys.argv[1], 'a').write(' '.join(sys.argv[2:]) + '\\n')"


def _history(world: object, hours: int) -> None:
    from tests.unit.lifecycle.world import World

    assert isinstance(world, World)
    for hour in range(hours, 0, -1):
        short = world.config.naming.scheme.format(NOW - timedelta(days=2, hours=hour))
        world.backend.snapshot([DATA.snapshot(short), CNID.snapshot(short)], {"zfstm:managed": "yes"})


def test_replica_is_pruned_on_its_rules_but_never_snapshotted_or_held(tmp_path: Path) -> None:
    """A finished, verified backup on a replica: no snapshot (not even by hand), no hold; old ones still pruned."""
    world = make_world(tmp_path, "replica = true\n[targets.retention]\nmax_destroy_share = 1")
    _history(world, 30)
    report = world.tick()
    assert report.exit_code == 0, report.failures
    assert report.snapshots == ()
    assert report.plan.decisions[0].due.action is DueAction.WAIT
    assert "replica" in report.plan.decisions[0].due.reason
    left = {s.name.short for s in world.snapshots(DATA)}
    assert 0 < len(left) < 30
    assert left == {s.name.short for s in world.snapshots(CNID)}
    assert world.held(DATA) == [] and world.held(CNID) == []
    assert world.tick(manual=True).snapshots == ()


def test_hook_runs_once_per_new_known_good_with_the_snapshot_name(tmp_path: Path) -> None:
    """The first tick makes a known-good snapshot and runs the hook; a tick that moves no hold runs nothing."""
    world = make_world(tmp_path)
    out = tmp_path / "hook.log"
    hooks = HooksConfig((sys.executable, "-c", APPEND, str(out), "{target}", "{dataset}", "{snapshot}"))
    world.config = attrs.evolve(world.config, hooks=hooks)
    assert world.tick().exit_code == 0
    (known_good,) = world.held(DATA)
    assert out.read_text() == f"tm tank/tm {known_good}\n"
    world.now = NOW + timedelta(minutes=30)
    world.tick()
    assert out.read_text().count("\n") == 1


@pytest.mark.parametrize(
    ("words", "said"),
    [
        ((sys.executable, "-c", "import sys; sys.exit('replication job down')"), "exited 1: replication job down"),
        (("/nonexistent/zrepl", "signal", "wakeup"), "not found"),
        ((sys.executable, "-c", "import time; time.sleep(30)"), "did not finish"),
    ],
)
def test_failing_hook_is_logged_and_never_fails_the_tick(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, words: tuple[str, ...], said: str
) -> None:
    """A hook that exits non-zero, is missing or outlives its timeout: a warning naming it, tick exit code 0."""
    world = make_world(tmp_path)
    world.config = attrs.evolve(world.config, hooks=HooksConfig(words, timeout=timedelta(seconds=0.5)))
    with caplog.at_level(logging.WARNING, logger="zfstm.hooks"):
        report = world.tick()
    assert report.exit_code == 0
    assert len(world.held(DATA)) == 1
    (record,) = caplog.records
    assert "after_known_good hook" in record.getMessage() and said in record.getMessage()


def test_hook_argv_fills_only_the_known_placeholders() -> None:
    """Each known placeholder is replaced wherever it appears in a word; other text stays as written."""
    words = ("zrepl", "signal", "wakeup", "push_{target}", "{snapshot}", "{x}")
    assert hook_argv(words, {"target": "tm", "snapshot": "tank/tm@s"}) == [
        "zrepl", "signal", "wakeup", "push_tm", "tank/tm@s", "{x}",
    ]  # fmt: skip


def test_no_hook_configured_runs_nothing() -> None:
    """The default configuration has no hook: nothing runs and nothing is reported."""
    assert run_after_known_good(HooksConfig(), target="tm", dataset="tank/tm", snapshot="tank/tm@s")


def test_replica_keeps_its_known_good_snapshot_by_properties_though_no_hold_arrives(tmp_path: Path) -> None:
    """Holds do not travel with zfs send: the replica's known-good (picked by its received properties) is kept."""
    world = make_world(tmp_path, "replica = true\n[targets.retention]\nmax_destroy_share = 1")
    _history(world, 30)
    oldest = world.snapshots(DATA)[0]
    good = {
        "zfstm:activity": "completed_and_quiet",
        "zfstm:tm-completed": "2026-11-26T00:00:00Z",
        "zfstm:tm-verification": "ok",
    }
    for key, value in good.items():
        world.backend.set_property(oldest.name, key, value)
    report = world.tick()
    assert report.exit_code == 0, report.failures
    left = [s.name for s in world.snapshots(DATA)]
    assert oldest.name in left and len(left) < 30
    assert world.held(DATA) == []
    decision = next(d for d in report.plan.upkeep[0].retention.decisions if d.name == oldest.name.full)
    assert decision.keep
    assert any("known-good on the replica" in reason for reason in decision.reasons)
