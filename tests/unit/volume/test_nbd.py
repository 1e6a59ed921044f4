"""NBD: the nbd-server section and authfile zfstm writes, the export going offline and back through the same
control as LIO (refused while a client is connected, forced clients ended), its configuration and provisioning."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfstm.cli.main import build_parser
from zfstm.config.load import ConfigProblems, parse_config
from zfstm.errors import FileServerError, SafetyRefusal, UsageError
from zfstm.service.holders import Holder
from zfstm.volume import nbd
from zfstm.volume.control import ExportControl
from zfstm.volume.model import ExportKind, VolumeExport, check_nbd_name, default_nbd_name
from zfstm.zfs import DatasetName
from zfstm.zfs.fake import FakeBackend

DATASET = DatasetName("tank/mac1")
DEVICE = "/dev/zvol/tank/mac1"


def export(tmp_path: Path) -> VolumeExport:
    return VolumeExport(
        ExportKind.NBD, export_name="mac1", config_dir=str(tmp_path / "conf.d"), pidfile=str(tmp_path / "nbd.pid")
    )


class Clients:
    """A scanner standing in for /proc: the given processes hold the zvol while they live."""

    def __init__(self, *processes: subprocess.Popen[bytes]) -> None:
        self.processes = list(processes)
        self.looked: list[Sequence[Path]] = []

    def __call__(self, paths: Sequence[Path]) -> tuple[Holder, ...]:
        self.looked.append(paths)
        return tuple(Holder(p.pid, "nbd-server", str(paths[0]), "fd 5") for p in self.processes if p.poll() is None)


def provisioned(tmp_path: Path, clients: Clients, *, force: bool = False) -> ExportControl:
    ex = export(tmp_path)
    for path, text in ((nbd.section_path(ex), nbd.section_text(ex, DEVICE)),
                       (nbd.authfile_path(ex), nbd.authfile_text(["192.0.2.7", "2001:db8::/32"]))):  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return ExportControl(ex, DATASET, force=force, platform="linux", scanner=clients, proc=tmp_path / "proc")


def test_section_names_the_device_and_authfile_and_reads_back(tmp_path: Path) -> None:
    """The section is nbd-server's format: [name], exportname, authfile, flush and fua; the authfile is not *.conf."""
    ex = export(tmp_path)
    text = nbd.section_text(ex, DEVICE)
    assert text.splitlines()[1] == "[mac1]"
    assert nbd.read_section(text, "mac1") == {
        "exportname": DEVICE, "authfile": str(tmp_path / "conf.d" / "zfstm-mac1.allow"), "flush": "true", "fua": "true"
    }  # fmt: skip
    assert nbd.read_section(text, "other") == {}
    assert not nbd.authfile_path(ex).name.endswith(".conf")
    assert nbd.allowed(nbd.authfile_text(())) == nbd.EVERYONE
    assert nbd.allowed(nbd.offline_text()) == ()


@given(st.text(max_size=30))
def test_hostile_names_and_clients_are_refused(text: str) -> None:
    """Anything that is not a plain export name or an address/network is a ValueError, never a section header."""
    try:
        check_nbd_name(text)
    except ValueError:
        pass
    else:
        assert "]" not in text and "/" not in text and not any(c.isspace() for c in text)
    try:
        nbd.check_client(text)
    except ValueError:
        pass
    else:
        assert "\n" not in text and "#" not in text
    assert check_nbd_name(default_nbd_name(text or "x")) == default_nbd_name(text or "x")


def test_stop_empties_the_authfile_and_start_restores_it_idempotently(tmp_path: Path) -> None:
    """Offline: the allowed list is set aside and the authfile lets nobody in; twice is harmless; back: restored."""
    control = provisioned(tmp_path, Clients())
    ex = control.export
    before = nbd.authfile_path(ex).read_text()
    control.stop()
    control.stop()  # a resumed rollback may stop again: the set-aside list is not overwritten
    assert nbd.allowed(nbd.authfile_path(ex).read_text()) == ()
    assert nbd.set_aside_path(ex).read_text() == before
    control.start()
    control.start()
    assert nbd.authfile_path(ex).read_text() == before and not nbd.set_aside_path(ex).exists()
    assert control.name == "NBD export mac1"


def test_a_connected_client_refuses_the_stop_and_leaves_the_export_serving(tmp_path: Path) -> None:
    """Without --force a connected client refuses the stop (exit 4), and the authfile is as it was."""
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as client:
        control = provisioned(tmp_path, Clients(client))
        before = nbd.authfile_path(control.export).read_text()
        with pytest.raises(SafetyRefusal, match="logged in"):
            control.stop()
        assert nbd.authfile_path(control.export).read_text() == before
        assert client.poll() is None, "a refused stop ended the client's connection"
        assert control.sessions() == (f"pid {client.pid} (nbd-server)",)
        client.kill()


def test_force_ends_the_clients_connection_after_closing_the_door(tmp_path: Path) -> None:
    """--force: the authfile is emptied first, then the client's nbd-server process gets SIGTERM."""
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as client:
        control = provisioned(tmp_path, Clients(client), force=True)
        control.stop()
        assert client.wait(timeout=10) != 0
        assert nbd.allowed(nbd.authfile_path(control.export).read_text()) == ()


def test_running_means_section_authfile_and_a_live_nbd_server(tmp_path: Path) -> None:
    """is_running (the rollback's VERIFY) wants the section as provisioned, the door open and nbd-server alive."""
    control = provisioned(tmp_path, Clients())
    assert control.nbd_problems() == [f"no nbd-server runs (pidfile {tmp_path / 'nbd.pid'})"]
    (tmp_path / "nbd.pid").write_text("4242\n")
    (tmp_path / "proc" / "4242").mkdir(parents=True)
    (tmp_path / "proc" / "4242" / "comm").write_text("nbd-server\n")
    assert control.is_running() and control.nbd_server_pid() == 4242
    control.stop()
    assert not control.is_running()
    nbd.section_path(control.export).write_text("[mac1]\nexportname = /dev/zvol/tank/other\n")
    with pytest.raises(FileServerError, match="serves '/dev/zvol/tank/other'"):
        control.start()


def test_browse_is_iscsi_only(tmp_path: Path) -> None:
    """nbd-server cannot drop an export it serves, so restore browsing over NBD is refused with the way round."""
    with pytest.raises(UsageError, match="iSCSI only"):
        provisioned(tmp_path, Clients()).show(DatasetName("tank/mac1.browse-x"))


def test_config_reads_and_refuses_nbd_keys() -> None:
    """export = "nbd": the target's name is the export name by default; a hostile name or relative dir is refused."""
    text = '[[targets]]\nname = "mac.1"\ndataset = "tank/mac1"\n[targets.volume]\nexport = "nbd"\n'
    volume = parse_config(text, "z.toml", platform="linux").targets[0].volume
    assert volume is not None and volume.kind is ExportKind.NBD
    assert (volume.export_name, volume.config_dir) == ("mac.1", "/etc/nbd-server/conf.d")
    with pytest.raises(ConfigProblems) as caught:
        parse_config(text + 'export_name = "a]b"\nconfig_dir = "etc"\n', "z.toml", platform="linux")
    assert "export name" in str(caught.value) and "absolute" in str(caught.value)


def provision(tmp_path: Path, *extra: str) -> tuple[int, str]:
    args = build_parser().parse_args(
        ["provision", "tank/mac1", "--server", "iscsi", "--export", "nbd", "--size", "1G", "--platform", "linux",
         "--nbd-config-dir", str(tmp_path / "conf.d"), "--nbd-pidfile", str(tmp_path / "none.pid"), "--json", *extra]
    )  # fmt: skip
    args.zfs_backend = FakeBackend()
    code: int = args.handler(args)
    return code, str(args.zfs_backend.exists(DATASET))


def test_provision_writes_the_section_and_authfile_and_refuses_to_replace_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--dry-run lists the files; a run writes them; the same again is fine; someone else's file needs --force."""
    assert provision(tmp_path, "--dry-run") == (0, "False")
    plan = json.loads(capsys.readouterr().out)
    assert plan["commands"] == [] and [f["path"] for f in plan["files"]] == [
        str(tmp_path / "conf.d" / "zfstm-mac1.conf"), str(tmp_path / "conf.d" / "zfstm-mac1.allow")
    ]  # fmt: skip
    assert not (tmp_path / "conf.d").exists()
    assert provision(tmp_path, "--initiator", "192.0.2.0/24") == (0, "True")
    capsys.readouterr()
    allow = tmp_path / "conf.d" / "zfstm-mac1.allow"
    assert nbd.allowed(allow.read_text()) == ("192.0.2.0/24",)
    assert provision(tmp_path, "--initiator", "192.0.2.0/24")[0] == 0
    capsys.readouterr()
    with pytest.raises(UsageError, match="exists with other contents"):
        provision(tmp_path)
    assert nbd.allowed(allow.read_text()) == ("192.0.2.0/24",)
    with pytest.raises(UsageError, match="NBD client"):
        provision(tmp_path, "--initiator", "iqn.2026-12.org.x:y", "--force")


def test_the_export_is_named_by_its_kind_in_plans() -> None:
    """A rollback plan of an NBD volume names nbd-server's export, not an iSCSI target it does not have."""
    assert VolumeExport(kind=ExportKind.NBD, export_name="mac1").title == "NBD export mac1"
    assert (
        VolumeExport(iqn="iqn.2026-12.org.zfstm:mac1", lun=3).title == "iSCSI export iqn.2026-12.org.zfstm:mac1 LUN 3"
    )
