"""The configured verbs end to end over the fake backend: config check, run, snapshot, status (exit codes, JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.lifecycle.world import DATA, World, make_world
from zfstm.cli.main import main
from zfstm.lock import acquire


def call(world: World, *argv: str) -> int:
    """Run a verb with the world's config, run directory and fake backend."""
    return world.cli(*argv)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("ZFSTM_RUN_DIR", str(tmp_path / "run"))
    return make_world(tmp_path)


def test_config_check_prints_effective_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`zfstm config check --json` validates and prints every setting; it touches nothing."""
    path = tmp_path / "c.toml"
    path.write_text('[[targets]]\ndataset = "tank/tm"\n')
    assert main(["config", "check", "--config", str(path), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["config"]["targets"][0]["retention"]["daily"] == "31d"


def test_config_check_reports_all_problems_with_exit_6(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad file exits 6 and lists each problem as FILE:LINE: KEY."""
    path = tmp_path / "c.toml"
    path.write_text('interval = "x"\n[[targets]]\ndataset = "tank/tm"\n[targets.detector]\nquiet = "1m"\n')
    assert main(["config", "check", "--config", str(path)]) == 6
    err = capsys.readouterr().err
    assert f"{path}:1: interval:" in err
    assert f"{path}:5: targets[0].detector.quiet: unknown key" in err


def test_config_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$ZFSTM_CONFIG names the file when --config is not given."""
    path = tmp_path / "env.toml"
    path.write_text('[[targets]]\ndataset = "tank/tm"\n')
    monkeypatch.setenv("ZFSTM_CONFIG", str(path))
    assert main(["config", "check"]) == 0


def test_run_json_then_busy(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """`zfstm run --json` reports the snapshot; with the lock held elsewhere it exits 5 and does nothing."""
    world_now = "2026-11-28T12:00:00Z"
    assert call(world, "run", "--json", "--now", world_now) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["targets"][0]["snapshot"] == "tank/tm@zfstm-20261128T120000Z"
    assert report["targets"][0]["known_good"] == "tank/tm@zfstm-20261128T120000Z"
    with acquire("tm", world.root / "run"):
        assert call(world, "run", "--now", "2026-11-29T12:00:00Z") == 5
    assert "busy: tm" in capsys.readouterr().out
    assert len(world.backend.list_snapshots(DATA)) == 1


def test_snapshot_verb_and_unknown_target(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """`zfstm snapshot` takes one now; an unknown target name is a usage error (exit 2)."""
    assert call(world, "snapshot", "tm", "--now", "2026-11-28T12:30:00Z") == 0
    assert "took tank/tm@zfstm-20261128T123000Z" in capsys.readouterr().out
    with pytest.raises(Exception, match="unknown target"):
        call(world, "snapshot", "nope")


def test_status_json(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """`zfstm status --json` lists the target with its snapshots."""
    call(world, "run", "--now", "2026-11-28T12:00:00Z")
    capsys.readouterr()
    assert call(world, "status", "--json", "--now", "2026-11-28T12:05:00Z") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["targets"][0]["snapshot_count"] == 1
    assert document["targets"][0]["known_good"] == "tank/tm@zfstm-20261128T120000Z"
