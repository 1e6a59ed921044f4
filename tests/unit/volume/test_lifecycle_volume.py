"""A volume target through the shares' own tick, planner and CLI, over the fake backend: the quiet period from the
volume's writes, a known-good snapshot without any plist, the rollback plan with the export in the file server's
place, the configuration's checks and the provisioning plan."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.unit.timemachine.fixtures import NOW
from zfstm.cli.main import build_parser
from zfstm.config.load import ConfigProblems, parse_config
from zfstm.config.model import Config
from zfstm.lifecycle.tick import run_tick
from zfstm.rollback.facts import gather
from zfstm.rollback.model import ISCSI, CnidStrategy, RollbackRequest, StepKind
from zfstm.rollback.planner import plan_rollback
from zfstm.snapshots.tags import KNOWN_GOOD_HOLD
from zfstm.zfs import DatasetName
from zfstm.zfs.fake import FakeBackend

VOLUME = DatasetName("tank/mac1")
TEXT = """
[[targets]]
name = "mac1"
dataset = "tank/mac1"
[targets.detector]
quiet_period = "10m"
[targets.volume]
iqn = "iqn.2026-12.org.zfstm:mac1"
"""


def world() -> tuple[Config, FakeBackend]:
    config = parse_config(TEXT, "zfstm.toml", platform="linux")
    backend = FakeBackend()
    backend.create_volume(VOLUME, 1 << 30, {"volblocksize": "16K"})
    backend.set_property(VOLUME, "written", "5000000")
    return config, backend


def tick(config: Config, backend: FakeBackend, tmp_path: Path, minutes: int) -> list[str]:
    now = NOW + timedelta(minutes=minutes)
    backend.clock = lambda: now
    report = run_tick(config, config.targets, backend, now, run_dir=tmp_path, state_dir=tmp_path)
    for _ in report.snapshots:
        backend.set_property(VOLUME, "written", "0")
    return list(report.snapshots)


def test_quiet_volume_gets_a_known_good_snapshot_after_the_quiet_period(tmp_path: Path) -> None:
    """First look: in progress (quiet starts); writes restart it; quiet for 10 minutes: a known-good snapshot."""
    config, backend = world()
    assert tick(config, backend, tmp_path, 0) == []
    backend.set_property(VOLUME, "written", "9000000")  # the Mac is still writing
    assert tick(config, backend, tmp_path, 5) == []
    assert tick(config, backend, tmp_path, 12) == []  # quiet for 7 minutes only
    (taken,) = tick(config, backend, tmp_path, 16)
    (info,) = backend.list_snapshots(VOLUME, user_props=["zfstm:activity", "zfstm:tm-verification"])
    assert info.user_props == {"zfstm:activity": "completed_and_quiet", "zfstm:tm-verification": "not-applicable"}
    assert KNOWN_GOOD_HOLD in backend.holds(info.name)
    assert tick(config, backend, tmp_path, 40) == []  # nothing written since: no second snapshot
    assert taken == info.name.full


def test_rollback_plan_takes_the_export_offline_and_back_around_the_swap(tmp_path: Path) -> None:
    """The export stands where a file server would: stop, swap (no mountpoint needed), start, verify the LUN."""
    config, backend = world()
    tick(config, backend, tmp_path, 0)
    tick(config, backend, tmp_path, 11)
    facts = gather(backend, config, config.targets[0], now=NOW, state_dir=tmp_path, platform="linux")
    assert facts.server == ISCSI
    plan = plan_rollback(facts, RollbackRequest("mac1", last_good=True))
    kinds = [step.kind for step in plan.steps]
    assert kinds[0] is StepKind.STOP_SERVER and kinds[-2:] == [StepKind.START_SERVER, StepKind.VERIFY]
    assert StepKind.CLONE in kinds and plan.strategy is CnidStrategy.NONE
    assert "mountpoint" not in plan.steps[-1].args
    assert "the volume tank/mac1 holds exactly" in plan.outcome


def test_a_volume_target_has_no_share_keys() -> None:
    """A hostile IQN is a problem with its line; share keys (here cnid_dataset) make no sense for a volume."""
    with pytest.raises(ConfigProblems) as caught:
        parse_config(TEXT.replace("iqn.2026-12", "IQN 2026"), "z.toml", platform="linux")
    assert "iSCSI name" in str(caught.value)
    bad = TEXT.replace('dataset = "tank/mac1"', 'dataset = "tank/mac1"\ncnid_dataset = "tank/cnid"')
    with pytest.raises(ConfigProblems, match="has no share"):
        parse_config(bad, "z.toml", platform="linux")


def test_provision_dry_run_plans_a_sparse_zvol_and_its_export(capsys: pytest.CaptureFixture[str]) -> None:
    """--server iscsi --dry-run: the zvol's properties and the targetcli commands, nothing created."""
    backend = FakeBackend()
    args = build_parser().parse_args(
        ["provision", "tank/mac1", "--server", "iscsi", "--size", "500G", "--platform", "linux", "--dry-run", "--json"]
    )
    args.zfs_backend = backend
    assert args.handler(args) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["properties"] == {
        "volblocksize": "16K", "compression": "lz4", "refreservation": "none", "volmode": "dev"
    }  # fmt: skip
    assert plan["export"] == {"kind": "lio", "iqn": "iqn.2026-12.org.zfstm:mac1", "lun": 0}
    assert ["targetcli", "saveconfig"] in plan["commands"]
    assert not backend.exists(VOLUME)


def test_provision_on_illumos_plans_comstar_without_volmode(capsys: pytest.CaptureFixture[str]) -> None:
    """illumos: no volmode property; the export is COMSTAR's (unverified) on the rdsk device path."""
    args = build_parser().parse_args(
        ["provision", "tank/mac1", "--server", "iscsi", "--size", "1G", "--platform", "illumos", "--dry-run", "--json"]
    )
    args.zfs_backend = FakeBackend()
    assert args.handler(args) == 0
    plan = json.loads(capsys.readouterr().out)
    assert "volmode" not in plan["properties"] and plan["export"]["kind"] == "comstar"
    assert any(
        argv[:2] == ["stmfadm", "create-lu"] and argv[-1] == "/dev/zvol/rdsk/tank/mac1" for argv in plan["commands"]
    )


def test_status_and_check_read_the_last_look_and_write_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`zfstm status` and `zfstm check` count a volume's quiet period from the ticks' state, and leave it as it was."""
    config, backend = world()
    monkeypatch.setenv("ZFSTM_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("ZFSTM_RUN_DIR", str(tmp_path / "run"))
    tick(config, backend, tmp_path, 0)  # the first look: quiet starts now
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()}
    toml = tmp_path / "etc" / "zfstm.toml"
    toml.parent.mkdir()
    toml.write_text(TEXT)

    def cli(*argv: str) -> str:
        args = build_parser().parse_args([*argv, "--config", str(toml)])
        args.zfs_backend = backend
        args.handler(args)
        return capsys.readouterr().out

    at = (NOW + timedelta(minutes=4)).isoformat()
    status = json.loads(cli("status", "--json", "--now", at))["targets"][0]["activity"]
    assert status["state"] == "in_progress" and status["reason"].startswith("no writes for 4m")
    later = (NOW + timedelta(minutes=11)).isoformat()
    assert json.loads(cli("status", "--json", "--now", later))["targets"][0]["activity"]["state"] == (
        "completed_and_quiet"
    )
    cli("check", "--json", "--now", later)
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()} == before
