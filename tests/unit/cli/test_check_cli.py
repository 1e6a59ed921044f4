"""`zfstm check` over the fake backend: exit codes 0-3, one summary line, --json, thresholds from config and flags."""

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
    return world.cli(*argv)


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


def check_with(world: World, config: str, *flags: str) -> int:
    """`zfstm check` right after a run, with ``config`` added to the file (a pool half full)."""
    shared, _, own = config.partition("---")
    world.text = shared + world.text.replace("[targets.file_server]", own + "\n[targets.file_server]")
    return call(world, "check", *flags, "--now", "2026-11-28T12:05:00Z")


@pytest.mark.parametrize(
    ("config", "flags", "code"),
    [
        ("", (), 0),  # built-in 80%,90%
        ('[check]\ncapacity = "30%,90%"\n', (), 1),
        ('[check]\ncapacity = "30%,90%"\n---[targets.check]\ncapacity = "30%,40%"\n', (), 2),
        ('[check]\ncapacity = "30%,90%"\n---[targets.check]\ncapacity = "30%,40%"\n', ("--capacity", "60%,70%"), 0),
        ('---[targets.check]\ncapacity = "30%,40%"\n', ("--capacity", "0.4,0.6"), 1),
    ],
)
def test_threshold_precedence_default_config_target_flag(
    world: World, capsys: pytest.CaptureFixture[str], config: str, flags: tuple[str, ...], code: int
) -> None:
    """Built-in default < [check] < [targets.check] < a flag given on the command line."""
    call(world, "run", "--now", "2026-11-28T12:00:00Z")
    capsys.readouterr()
    assert check_with(world, config, *flags) == code


def test_configured_states_and_unset_flags(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """A share without a snapshot yet: [check] missing = "critical" is CRITICAL, unless --missing says ok."""
    assert check_with(world, '[check]\nmissing = "critical"\nsnapshot_age = "1d,2d"\n') == 2
    assert "no last snapshot yet" in capsys.readouterr().out
    assert call(world, "check", "--missing", "ok", "--now", "2026-11-28T12:05:00Z") == 0


def test_a_bad_check_table_is_unknown(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid [check] value is a configuration error: UNKNOWN (3) naming file, line and key."""
    assert check_with(world, '[check]\nbackup_age = "7d,2d"\n') == 3
    out = capsys.readouterr().out
    assert out.startswith("ZFSTM UNKNOWN - ") and "zfstm.toml:2: check.backup_age:" in out


def test_bad_flag_value_is_refused() -> None:
    """A capacity above 1 (80,90 meant as percent) is refused rather than never firing."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["check", "--capacity", "80,90"])
