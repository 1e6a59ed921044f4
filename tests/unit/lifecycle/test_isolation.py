"""One hostile snapshot or one failing target never stops the others (issue 14): run, status, check, daemon.

Target ``tm`` (tank/tm) carries the hostile data; target ``b`` (tank/b) is healthy and must still be snapshotted
and pruned, and shown by status and check.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.unit.lifecycle.world import DATA, World, make_world
from tests.unit.timemachine.fixtures import NOW
from zfstm.config.load import parse_config
from zfstm.errors import InternalError
from zfstm.lifecycle import tick as tick_module
from zfstm.zfs import DatasetName

B = DatasetName("tank/b")
ADOPT = '[[naming.adopt]]\nzone = "Europe/Berlin"\n'


def two_targets(tmp_path: Path, head: str = "") -> World:
    world = make_world(tmp_path, "[targets.retention]\nmax_destroy_share = 1", cnid=False)
    world.backend.create_filesystem(B)
    world.text = (
        head
        + world.text
        + '\n[[targets]]\nname = "b"\ndataset = "tank/b"\n[targets.retention]\nmax_destroy_share = 1\n'
        + '[targets.file_server]\nkind = "none"\n'
    )
    world.config = parse_config(world.text, str(tmp_path / "zfstm.toml"))
    for hour in range(30, 0, -1):  # hourly history two days old: retention destroys most of it
        short = world.config.naming.scheme.format(NOW - timedelta(days=2, hours=hour))
        for dataset in (DATA, B):
            world.backend.snapshot([dataset.snapshot(short)], {"zfstm:managed": "yes"})
    return world


def call(world: World, *argv: str) -> int:
    return world.cli(*argv)


@pytest.fixture(autouse=True)
def _run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZFSTM_RUN_DIR", str(tmp_path / "run"))


def test_a_year_one_adopted_name_is_foreign_and_every_target_is_served(tmp_path: Path) -> None:
    """tank/tm@00010101_0000 in Europe/Berlin names no UTC instant (OverflowError before): it is kept as foreign."""
    world = two_targets(tmp_path, ADOPT)
    world.backend.snapshot([DATA.snapshot("00010101_0000")])
    report = world.tick()
    assert report.exit_code == 0, report.failures
    assert "tank/b@zfstm-20261128T120000Z" in report.snapshots
    assert len(world.backend.list_snapshots(B)) < 31  # b was pruned
    assert "00010101_0000" in {s.name.short for s in world.snapshots(DATA)}


def test_a_stands_until_after_year_9999_does_not_end_the_tick(tmp_path: Path) -> None:
    """zfstm:stands-until=9999-12-31T23:59:59-01:00 (OverflowError before) reads as not set."""
    world = two_targets(tmp_path)
    first = world.backend.list_snapshots(DATA)[0].name
    world.backend.set_property(first, "zfstm:stands-until", "9999-12-31T23:59:59-01:00")
    report = world.tick()
    assert report.exit_code == 0, report.failures
    assert len(world.backend.list_snapshots(B)) < 31


def test_an_unexpected_error_in_one_target_is_that_targets_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug tripped by one target's data (any exception, in observing or planning) is reported for it with exit 70;
    the other target is still snapshotted and pruned."""
    world = two_targets(tmp_path)
    real_observe, real_plan = tick_module.observe, tick_module.plan_upkeep  # type: ignore[attr-defined]

    def observe(backend: object, config: object, target: object, **kwargs: object) -> object:
        if getattr(target, "name", "") == "tm":
            raise OverflowError("date value out of range")
        return real_observe(backend, config, target, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tick_module, "observe", observe)
    report = world.tick()
    assert [(f.target, f.step, f.exit_code) for f in report.failures] == [("tm", "observe", InternalError.exit_code)]
    assert "OverflowError" in report.failures[0].message
    assert "tank/b@zfstm-20261128T120000Z" in report.snapshots
    assert len(world.backend.list_snapshots(B)) < 31

    monkeypatch.setattr(tick_module, "observe", real_observe)

    def plan_upkeep(config: object, observations: list[object], *args: object) -> object:
        if any(getattr(getattr(o, "target", None), "name", "") == "tm" for o in observations):
            raise KeyError("boom")
        return real_plan(config, observations, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(tick_module, "plan_upkeep", plan_upkeep)
    world.now = NOW + timedelta(days=1)
    report = world.tick()
    assert [(f.target, f.step) for f in report.failures] == [("tm", "plan upkeep")]
    assert "tank/b@zfstm-20261129T120000Z" in report.snapshots


def test_status_and_check_show_the_failing_target_and_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """status names the unreadable target with its cause (exit 70) and lists the other; check makes it UNKNOWN (3)
    and still checks the other, never exit 1 or 2 for an internal error."""
    world = two_targets(tmp_path)
    from zfstm.cli import check as check_cli
    from zfstm.cli import status as status_cli

    real = status_cli.observe  # type: ignore[attr-defined]

    def observe(backend: object, config: object, target: object, **kwargs: object) -> object:
        if getattr(target, "name", "") == "tm":
            raise OverflowError("date value out of range")
        return real(backend, config, target, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(status_cli, "observe", observe)
    monkeypatch.setattr(check_cli, "observe", observe)
    assert call(world, "status", "--json", "--now", "2026-11-28T12:00:00Z") == 70
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert [t["target"] for t in document["targets"]] == ["b"]
    assert document["errors"][0]["target"] == "tm" and "OverflowError" in document["errors"][0]["message"]
    assert "tm: cannot be read" in captured.err
    code = call(world, "check", "--json", "--now", "2026-11-28T12:00:00Z")
    document = json.loads(capsys.readouterr().out)
    assert code == document["exit_code"]  # b has no backup yet: its WARNING ranks above tm's UNKNOWN (Nagios)
    assert {f["target"] for f in document["findings"]} == {"tm", "b"}
    assert any(f["target"] == "tm" and f["state"] == "UNKNOWN" and "OverflowError" in f["message"]
               for f in document["findings"])  # fmt: skip


def test_the_daemon_keeps_ticking_after_an_internal_error() -> None:
    """A tick that raises something unexpected is logged and the loop goes on to the next tick."""
    from zfstm.cli.daemon import loop

    calls: list[int] = []

    class Stop:
        reason = ""

        def is_set(self) -> bool:
            return len(calls) >= 2

        def wait(self, _seconds: float) -> None:
            return None

    def tick() -> object:
        calls.append(1)
        raise OverflowError("date value out of range")

    assert loop(tick, timedelta(minutes=15), Stop()) == 0  # type: ignore[arg-type]
    assert len(calls) == 2


def test_check_answers_unknown_for_an_internal_error_and_a_bad_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nagios reads 1 as WARNING and 2 as CRITICAL: a crash or a bad flag must answer 3 (UNKNOWN)."""
    from zfstm.cli import check as check_cli
    from zfstm.cli.main import main

    world = two_targets(tmp_path)

    def broken(_args: object) -> object:
        raise KeyError("boom")

    monkeypatch.setattr(check_cli, "load_from_args", broken)
    assert call(world, "check") == 3
    assert capsys.readouterr().out.startswith("ZFSTM UNKNOWN - internal error KeyError")
    with pytest.raises(SystemExit) as exited:
        main(["check", "--capacity", "zz"])
    assert exited.value.code == 3
    with pytest.raises(SystemExit) as exited:
        main(["check", "--frobnicate"])
    assert exited.value.code == 3
    assert "ZFSTM UNKNOWN" in capsys.readouterr().out


def _plant(world: World, hostile: str) -> None:
    if hostile == "year-one":
        world.backend.snapshot([DATA.snapshot("00010101_0000")])
    else:
        first = world.backend.list_snapshots(DATA)[0].name
        world.backend.set_property(first, "zfstm:stands-until", "9999-12-31T23:59:59-01:00")


@pytest.mark.parametrize("hostile", ["year-one", "stands-until"])
def test_status_check_and_plan_read_every_target_past_a_hostile_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], hostile: str
) -> None:
    """The issue's two hostile snapshots ended `status`, `check` and `plan` too (OverflowError, exit 1): now each
    verb reads both targets, and nothing is an internal error."""
    world = two_targets(tmp_path, ADOPT if hostile == "year-one" else "")
    _plant(world, hostile)
    now = "2026-11-28T12:00:00Z"
    assert call(world, "status", "--json", "--now", now) == 0, capsys.readouterr().err
    document = json.loads(capsys.readouterr().out)
    assert sorted(t["target"] for t in document["targets"]) == ["b", "tm"] and not document.get("errors")
    code = call(world, "check", "--json", "--now", now)
    document = json.loads(capsys.readouterr().out)
    assert code == document["exit_code"]
    assert {f["target"] for f in document["findings"] if f["metric"] == "backup_age"} == {"tm", "b"}
    assert not [f for f in document["findings"] if "error" in f["message"].lower()], document["findings"]
    assert call(world, "plan", "--json", "--now", now) == 0, capsys.readouterr().err
    plans = json.loads(capsys.readouterr().out)
    assert {d["dataset"] if isinstance(d, dict) else d for d in plans["datasets"]} == {"tank/b", "tank/tm"}
    assert any(entry["name"].startswith("tank/b@") for entry in plans["destroy"])  # b is still pruned


def test_a_zfs_error_in_one_target_is_that_targets_failure(tmp_path: Path) -> None:
    """tm's dataset is gone (ZFS: does not exist): tm fails with zfs's code and its cause; b is still served."""
    world = two_targets(tmp_path)
    world.backend.destroy_dataset(DATA, recursive=True)
    report = world.tick()
    assert [(f.target, f.step, f.exit_code) for f in report.failures] == [("tm", "observe", 7)]
    assert "tank/tm" in report.failures[0].message
    assert "tank/b@zfstm-20261128T120000Z" in report.snapshots
    assert len(world.backend.list_snapshots(B)) < 31


def test_an_unreadable_file_in_one_target_does_not_stop_the_other(tmp_path: Path) -> None:
    """tm's Time Machine plist cannot be read (a directory where the file should be): b is still snapshotted and
    pruned; tm too, its backup unverified (no known-good facts), with no internal error."""
    world = two_targets(tmp_path)
    machine = world.bundle / "com.apple.TimeMachine.MachineID.plist"
    machine.unlink()
    machine.mkdir()
    report = world.tick()
    assert not [f for f in report.failures if f.target == "b"]
    assert all("internal error" not in f.message for f in report.failures), report.failures
    assert "tank/b@zfstm-20261128T120000Z" in report.snapshots
    assert len(world.backend.list_snapshots(B)) < 31
