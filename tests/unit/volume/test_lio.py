"""LIO: the targetcli commands zfstm runs, configfs read back (over a tree laid out as seen in the testbed), and
the export control's refusal while an initiator is logged in."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from zfstm.command import Completed
from zfstm.errors import FileServerError, SafetyRefusal
from zfstm.volume import comstar, lio
from zfstm.volume.control import ExportControl
from zfstm.volume.model import ExportKind, VolumeExport, backstore_name, browse_dataset, check_iqn
from zfstm.zfs.names import DatasetName, SnapshotName

IQN = "iqn.2026-12.org.zfstm:mac1"
EXPORT = VolumeExport(iqn=IQN)
DATASET = DatasetName("tank/mac1")


def configfs(root: Path, *, luns: Sequence[int] = (0,), sessions: str = "", store: str = "tank_mac1") -> Path:
    tpgt = root / "iscsi" / IQN / "tpgt_1"
    for lun in luns:
        (tpgt / "lun" / f"lun_{lun}").mkdir(parents=True)
    tpgt.mkdir(parents=True, exist_ok=True)
    (tpgt / "dynamic_sessions").write_text(sessions)
    stats = root / "core" / "iblock_0" / store / "statistics" / "scsi_lu"
    stats.mkdir(parents=True)
    (stats / "write_mbytes").write_text("42\n")
    for lun in luns:
        (tpgt / "lun" / f"lun_{lun}" / "a1b2c3").symlink_to(root / "core" / "iblock_0" / store)
    return root


class Recorder:
    def __init__(self, returncode: int = 0) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.returncode = returncode

    def __call__(self, argv: Sequence[str], *, timeout: float | None) -> Completed:
        self.calls.append(tuple(argv))
        return Completed(argv, self.returncode, "", "No such path" if self.returncode else "")


def test_commands_are_argument_lists_with_the_same_iqn_and_lun() -> None:
    """Export and unexport name the IQN's tpg1 and the LUN number; the browse LUN is read-only."""
    assert lio.create_lun(EXPORT, "tank_mac1", "/dev/zvol/tank/mac1", 0) == (
        ("targetcli", "/backstores/block", "create", "name=tank_mac1", "dev=/dev/zvol/tank/mac1"),
        ("targetcli", f"/iscsi/{IQN}/tpg1/luns", "create", "/backstores/block/tank_mac1", "lun=0"),
    )
    assert "readonly=True" in lio.create_lun(EXPORT, "b", "/dev/x", 1, readonly=True)[0]
    assert lio.delete_lun(EXPORT, "tank_mac1", 0)[0] == ("targetcli", f"/iscsi/{IQN}/tpg1/luns", "delete", "lun=0")
    acl = lio.create_target(EXPORT, initiators=("iqn.1993-08.org.debian:01:abc",))
    assert acl[-1] == ("targetcli", f"/iscsi/{IQN}/tpg1/acls", "create", "iqn.1993-08.org.debian:01:abc")


def test_names_are_checked_and_stable() -> None:
    """Hostile IQNs are refused; backstore names survive a swap (they come from the dataset's name)."""
    for bad in ("iqn.2026-12.org.x:a b", "IQN.2026-12.org.x", "iqn.2026-12.org.x:a;rm -rf /", ""):
        with pytest.raises(ValueError, match="iSCSI name"):
            check_iqn(bad)
    assert backstore_name(DATASET) == "tank_mac1"
    snap = SnapshotName.parse("tank/mac1@zfstm-20261203T120000Z")
    assert browse_dataset(snap).full == "tank/mac1.browse-zfstm-20261203T120000Z"
    with pytest.raises(ValueError, match="restore_lun"):
        VolumeExport(iqn=IQN, lun=1, restore_lun=1)


def test_read_state_from_configfs(tmp_path: Path) -> None:
    """LUNs, backstores, demo-mode sessions and the write counter come from configfs."""
    root = configfs(tmp_path, luns=(0, 1), sessions="iqn.1993-08.org.debian:01:abc\n")
    state = lio.read_state(EXPORT, "tank_mac1", root)
    assert state.luns == {0, 1} and state.backstores == {"tank_mac1"}
    assert state.store_of(1) == "tank_mac1" and state.store_of(2) is None
    assert state.sessions == ("iqn.1993-08.org.debian:01:abc",)
    assert state.write_mbytes == 42
    absent = lio.read_state(EXPORT, "tank_mac1", tmp_path / "nothing")
    assert not absent.target_exists and absent.sessions == () and absent.write_mbytes is None


def test_stop_refuses_while_logged_in_unless_forced(tmp_path: Path) -> None:
    """A logged-in initiator stops the rollback before any command; --force takes the LUN away anyway."""
    root = configfs(tmp_path, sessions="iqn.1993-08.org.debian:01:abc\n")
    runner = Recorder()
    with pytest.raises(SafetyRefusal, match="logged in"):
        ExportControl(EXPORT, DATASET, runner=runner, configfs=root).stop()
    assert runner.calls == []
    ExportControl(EXPORT, DATASET, force=True, runner=runner, configfs=root).stop()
    assert [call[1:3] for call in runner.calls] == [
        (f"/iscsi/{IQN}/tpg1/luns", "delete"),
        ("/backstores/block", "delete"),
    ]


def test_start_creates_only_what_is_missing_and_a_failure_names_the_command(tmp_path: Path) -> None:
    """Starting twice is harmless (a resumed rollback); a failing targetcli is a FileServerError with its command."""
    runner = Recorder()
    ExportControl(EXPORT, DATASET, runner=runner, configfs=configfs(tmp_path), platform="test").start()
    assert runner.calls == [lio.SAVE]
    failing = Recorder(returncode=1)
    with pytest.raises(FileServerError, match="targetcli /backstores/block create"):
        ExportControl(EXPORT, DATASET, runner=failing, configfs=tmp_path / "empty", platform="test").start()


def test_comstar_guid_is_stable_and_commands_follow_the_manuals() -> None:
    """The logical unit keeps its GUID across delete and create; views carry the LUN number."""
    export = VolumeExport(ExportKind.COMSTAR, IQN)
    guid = comstar.lu_guid(export, 0)
    assert len(guid) == 32 and guid == comstar.lu_guid(export, 0) and guid != comstar.lu_guid(export, 1)
    assert comstar.create_lun(export, "/dev/zvol/rdsk/tank/mac1", 0) == (
        ("stmfadm", "create-lu", "-p", f"guid={guid}", "/dev/zvol/rdsk/tank/mac1"),
        ("stmfadm", "add-view", "-n", "0", guid),
    )
    assert comstar.sessions_from("Target: iqn\n    Sessions: 2\n") == 2
    assert comstar.sessions_from("garbage") is None


def test_unbrowse_refuses_a_restore_lun_that_shows_another_clone(tmp_path: Path) -> None:
    """LUN 1 showing some other backstore is left alone: unbrowse removes only what browse made."""
    root = configfs(tmp_path, luns=(0, 1))
    runner = Recorder()
    clone = browse_dataset(SnapshotName.parse("tank/mac1@zfstm-20261203T120000Z"))
    with pytest.raises(SafetyRefusal, match="shows tank_mac1"):
        ExportControl(EXPORT, DATASET, runner=runner, configfs=root).hide(clone)
    assert runner.calls == []
