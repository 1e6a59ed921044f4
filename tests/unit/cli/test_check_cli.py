"""`zfstm check` over the fake backend: exit codes 0-3, one summary line, --json, thresholds from flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.lifecycle.world import World, make_world
from zfstm.cli import check as check_cli
from zfstm.cli.main import build_parser, main
from zfstm.zfs import DatasetName
from zfstm.zfs.backend import ZfsBackend


def call(world: World, *argv: str) -> int:
    config = world.root / "zfstm.toml"
    config.write_text(world.text)
    args = build_parser().parse_args([*argv, "--config", str(config)])
    args.zfs_backend = world.backend
    code: int = args.handler(args)
    return code


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("ZFSTM_RUN_DIR", str(tmp_path / "run"))

    def half_full(_backend: ZfsBackend, _dataset: DatasetName) -> float:
        return 0.5

    monkeypatch.setattr(check_cli, "pool_capacity", half_full)
    return make_world(tmp_path)


def test_ok_after_a_run_then_warning_days_later(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """Right after a tick took the known-good snapshot the check is OK (0); three days later WARNING (1)."""
    call(world, "run", "--now", "2026-11-28T12:00:00Z")
    capsys.readouterr()
    assert call(world, "check", "--now", "2026-11-28T12:05:00Z") == 0
    assert capsys.readouterr().out.startswith("ZFSTM OK - tm: ok")
    assert call(world, "check", "--now", "2026-12-01T12:05:00Z") == 1
    line = capsys.readouterr().out
    assert line.startswith("ZFSTM WARNING - tm: last backup") and line.count("\n") == 1


def test_json_and_flag_thresholds(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """--json lists every finding; tighter --capacity turns 50 % into CRITICAL (2)."""
    call(world, "run", "--now", "2026-11-28T12:00:00Z")
    capsys.readouterr()
    assert call(world, "check", "--json", "--capacity", "30%,40%", "--now", "2026-11-28T12:05:00Z") == 2
    document = json.loads(capsys.readouterr().out)
    assert document["state"] == "CRITICAL"
    assert {f["metric"] for f in document["findings"]} >= {"backup_age", "verification", "capacity", "rollback"}


def test_unreadable_config_is_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A configuration that cannot be read is UNKNOWN (3), never OK."""
    assert main(["check", "--config", str(tmp_path / "missing.toml")]) == 3
    assert capsys.readouterr().out.startswith("ZFSTM UNKNOWN - ")
