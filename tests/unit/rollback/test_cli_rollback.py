"""`zfstm rollback` over the fake backend: --dry-run prints the plan and changes nothing, --json is the plan,
confirmation is required without a terminal, and a run with --yes journals and finishes."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.rollback.test_runner import world_state
from tests.unit.rollback.world import CNID, DATA, make_world
from zfstm.cli import rollback as cli
from zfstm.errors import UsageError
from zfstm.zfs.fake import FakeBackend


def setup(tmp_path: Path) -> Path:
    afp = tmp_path / "afp.conf"
    afp.write_text("[Global]\nvol dbpath = /tank/cnid/$v/\n\n[TM]\npath = /tank/tm\ntime machine = yes\n")
    config = tmp_path / "zfstm.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\nrun_dir = "{tmp_path / "run"}"\n\n'
        '[file_server]\nkind = "none"\n\n'
        '[[targets]]\nname = "tm"\ndataset = "tank/tm"\ncnid_dataset = "tank/cnid"\n'
    )
    return config


def args(config: Path, backend: FakeBackend, **given: Any) -> argparse.Namespace:
    base: dict[str, Any] = {
        "target": "tm", "to": None, "last_good": False, "undo": False, "resume": False, "abort": False,
        "discard_newer": False, "cnid_strategy": None, "dry_run": False, "yes": False, "json": False,
        "now": "2026-11-28T03:00:00Z", "config": str(config), "zfs_backend": backend,
    }  # fmt: skip
    base.update(given)
    return argparse.Namespace(**base)


def test_dry_run_prints_the_plan_and_touches_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--dry-run shows target snapshot, newer snapshots and steps, and leaves ZFS and the state dir alone."""
    backend = make_world()
    before = world_state(backend)
    assert cli.run(args(setup(tmp_path), backend, last_good=True, dry_run=True)) == 0
    out = capsys.readouterr().out
    assert "to:          tank/tm@s1" in out and "clone-data" in out and "no file server" in out
    assert world_state(backend) == before
    assert not (tmp_path / "state").exists()


def test_json_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json --dry-run prints the plan as one JSON document."""
    assert cli.run(args(setup(tmp_path), make_world(), to="s2", dry_run=True, json=True)) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["snapshot"] == "tank/tm@s2" and plan["strategy"] == "none"


def test_without_a_terminal_and_without_yes_it_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No --yes and stdin is not a terminal: UsageError, nothing changed."""
    backend = make_world()
    before = world_state(backend)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(UsageError, match="--yes"):
        cli.run(args(setup(tmp_path), backend, last_good=True))
    assert world_state(backend) == before


def test_yes_runs_it_and_undo_swaps_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--yes runs the swap (journal closed in the state dir); --undo then restores the broken state."""
    monkeypatch.setattr("pathlib.Path.is_dir", lambda _p: True)
    backend = make_world()
    config = setup(tmp_path)
    assert cli.run(args(config, backend, last_good=True, yes=True)) == 0
    assert backend.read_contents(DATA) == "data-s1"
    assert list((tmp_path / "state").glob("rollback-tm-*.jsonl.done"))
    assert cli.run(args(config, backend, undo=True, yes=True, now="2026-11-28T04:00:00Z")) == 0
    assert backend.read_contents(DATA) == "broken"
    assert backend.exists(CNID)
    assert "journal" in capsys.readouterr().out


class Died(BaseException):
    """What os._exit becomes in this test."""


def test_fault_env_kills_mid_swap_and_resume_finishes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ZFSTM_ROLLBACK_FAIL_AFTER=retire-data dies while tank/tm does not exist; `--resume` (which must not need
    the dataset to gather facts) completes the swap."""
    monkeypatch.setattr("pathlib.Path.is_dir", lambda _p: True)
    backend = make_world()
    config = setup(tmp_path)

    def die(code: int) -> None:
        raise Died(code)

    monkeypatch.setattr("os._exit", die)
    monkeypatch.setenv("ZFSTM_ROLLBACK_FAIL_AFTER", "retire-data")
    with pytest.raises(Died):
        cli.run(args(config, backend, last_good=True, yes=True))
    assert not backend.exists(DATA)
    monkeypatch.delenv("ZFSTM_ROLLBACK_FAIL_AFTER")
    assert cli.run(args(config, backend, resume=True)) == 0
    assert backend.read_contents(DATA) == "data-s1"
    with pytest.raises(UsageError, match="no unfinished rollback"):
        cli.run(args(config, backend, resume=True))
    capsys.readouterr()
