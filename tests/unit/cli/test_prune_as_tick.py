"""`zfstm prune` goes through the tick's path: the same decisions on the same configuration and snapshots, the
target lock (busy: exit 5) and the CNID dataset in lockstep; `zfstm plan` shows the same plan without a lock."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.unit.lifecycle.world import CNID, DATA, World, make_world
from tests.unit.timemachine.fixtures import NOW
from zfstm.lock import acquire
from zfstm.naming import DEFAULT_SCHEME

NOW_TEXT = "2026-11-28T12:00:00Z"
RETENTION = '[targets.retention]\nhourly = "6h"\ndaily = "2d"\nweekly = "none"\n'


def history(root: Path) -> World:
    """Four days of 2-hourly snapshots of share and CNID dataset (one atomic call each, as a tick takes them), then
    a tick's own snapshot 10 minutes ago that recorded the completed backup: at NOW no snapshot is due."""
    world = make_world(root, RETENTION)
    time = NOW - timedelta(days=4)
    while time <= NOW - timedelta(hours=1, minutes=10):
        short = DEFAULT_SCHEME.format(time)
        world.backend.snapshot([DATA.snapshot(short), CNID.snapshot(short)], {"zfstm:managed": "yes"})
        time += timedelta(hours=2)
    world.now = NOW - timedelta(minutes=10)
    world.tick(manual=True, prune=False)
    world.now = NOW
    return world


def state(world: World) -> dict[str, list[str]]:
    return {
        "data": sorted(info.name.full for info in world.snapshots(DATA)),
        "cnid": sorted(info.name.short for info in world.snapshots(CNID)),
        "held": world.held(DATA) + world.held(CNID),
    }


@pytest.fixture
def worlds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[World, World]:
    monkeypatch.setenv("ZFSTM_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("ZFSTM_STATE_DIR", str(tmp_path / "state"))
    return history(tmp_path / "a"), history(tmp_path / "b")


def test_prune_and_tick_decide_the_same(worlds: tuple[World, World], capsys: pytest.CaptureFixture[str]) -> None:
    """On one configuration and one set of snapshots, `zfstm prune` leaves exactly what `zfstm run` leaves: the
    share's snapshots, the CNID dataset's (pruned in lockstep) and the known-good holds."""
    ticked, pruned = worlds
    assert state(ticked) == state(pruned)
    before = state(ticked)
    assert ticked.cli("run", "--now", NOW_TEXT, "--force", "--json") == 0
    report = json.loads(capsys.readouterr().out)["targets"][0]
    assert report["action"] != "take", "the fixture must leave no snapshot due, or the two could not agree"
    assert pruned.cli("prune", "--now", NOW_TEXT, "--force", "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert sorted(e["name"] for e in document["destroy"]) == sorted(report["destroy"])
    assert state(ticked) == state(pruned)
    after = state(pruned)
    assert len(after["data"]) < len(before["data"])
    assert after["cnid"] == sorted(name.partition("@")[2] for name in after["data"])
    assert document["cnid"][0]["dataset"] == CNID.full


def test_plan_shows_what_prune_does(worlds: tuple[World, World], capsys: pytest.CaptureFixture[str]) -> None:
    """`zfstm plan` (no lock, nothing changed) lists what `zfstm prune` then destroys."""
    world, _ = worlds
    before = state(world)
    assert world.cli("plan", "tm", "--now", NOW_TEXT, "--json") == 0
    planned = json.loads(capsys.readouterr().out)
    assert state(world) == before
    assert world.cli("prune", "tm", "--now", NOW_TEXT, "--force", "--json") == 0
    pruned = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in planned["destroy"]] == [e["name"] for e in pruned["destroy"]]
    assert sorted(pruned["result"]["destroyed"]) == sorted(e["name"] for e in pruned["destroy"])


def test_prune_waits_for_nobody(worlds: tuple[World, World], capsys: pytest.CaptureFixture[str]) -> None:
    """While another zfstm run holds the target's lock, prune exits 5 and destroys nothing."""
    world, _ = worlds
    before = state(world)
    with acquire("tm", world.root.parent / "run"):
        assert world.cli("prune", "--now", NOW_TEXT, "--force") == 5
    assert "busy" in capsys.readouterr().err
    assert state(world) == before


def test_flags_override_the_configuration_for_one_run(
    worlds: tuple[World, World], capsys: pytest.CaptureFixture[str]
) -> None:
    """A policy flag replaces the configured setting for this run only; the configuration still rules the next."""
    world, _ = worlds
    assert world.cli("plan", "--now", NOW_TEXT, "--json", "--daily", "4d") == 0
    wider = {e["name"] for e in json.loads(capsys.readouterr().out)["keep"]}
    assert world.cli("plan", "--now", NOW_TEXT, "--json") == 0
    configured = {e["name"] for e in json.loads(capsys.readouterr().out)["keep"]}
    assert configured < wider


def test_prune_refuses_without_force_like_the_tick(
    worlds: tuple[World, World], capsys: pytest.CaptureFixture[str]
) -> None:
    """The circuit breaker stops prune as it stops the tick: exit 4, nothing destroyed."""
    ticked, pruned = worlds
    before = state(pruned)
    assert ticked.cli("run", "--now", NOW_TEXT) == 4
    assert pruned.cli("prune", "--now", NOW_TEXT) == 4
    assert "--force" in capsys.readouterr().err
    assert state(pruned) == before == state(ticked)
