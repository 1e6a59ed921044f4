"""A volume target exported by nbd-server, end to end on loopback: provision writes the export's section and
authfile and makes the running nbd-server serve it (SIGHUP), nbd-client attaches it, a filesystem and checksummed
files go on it, zfstm snapshots after the quiet period, the device is corrupted, the rollback is refused while the
client is connected, the export is shown to go offline (no client gets in) and back, the rollback runs, and the
client attaches again under the same export name: fsck clean and every checksum equal.

ext4 stands in for the Mac's filesystem (zfstm never reads inside the volume). nbd-server runs as root from a main
configuration of the test's own whose ``includedir`` is the target's ``config_dir``; it needs one export of its own
to start at all ("No configured exports; quitting"), so a small spare file is served beside the volume.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.volume_story import POOL, QUIET, VOLUME, checksums, run, snapshots, write_config, write_files
from tests.integration.volume_story import zfstm as zfstm_with
from zfstm.volume import nbd
from zfstm.volume.control import ExportControl
from zfstm.volume.model import ExportKind, VolumeExport
from zfstm.zfs import DatasetName

pytestmark = pytest.mark.integration

NAME = "mac1"
HOST = "127.0.0.1"
NBD = "/dev/nbd0"
WORK = Path("/tmp/zfstm-nbd")
CONFIG = WORK / "zfstm.toml"
MOUNT = WORK / "mnt"
CONF_DIR = WORK / "nbd" / "conf.d"
PIDFILE = WORK / "nbd" / "nbd-server.pid"
EXPORT = VolumeExport(ExportKind.NBD, export_name=NAME, config_dir=str(CONF_DIR), pidfile=str(PIDFILE))
zfstm = functools.partial(zfstm_with, CONFIG)


def attach(*, tries: int = 20) -> None:
    """nbd-client asks for the export by name; nbd-server may still be reading its files after a SIGHUP."""
    for _ in range(tries):
        done = run("nbd-client", "-N", NAME, HOST, NBD, check=False)
        if done.returncode == 0:
            run("udevadm", "settle", check=False)
            return
        time.sleep(0.5)
    raise AssertionError(f"nbd-client could not attach {NAME}: {done.stderr or done.stdout}")


def control() -> ExportControl:
    return ExportControl(EXPORT, DatasetName(VOLUME))


def detach() -> None:
    """Disconnect, then wait until nbd-server's process for the connection has let go of the zvol."""
    run("nbd-client", "-d", NBD)
    for _ in range(60):
        if control().sessions() == ():
            return
        time.sleep(0.5)
    raise AssertionError(f"nbd-server still holds {VOLUME}: {control().sessions()}")


@pytest.fixture(scope="module")
def nbd_server() -> Iterator[None]:
    """The nbd module, and an nbd-server reading the target's config_dir (started before the export exists)."""
    run("modprobe", "nbd")
    CONF_DIR.mkdir(parents=True, exist_ok=True)
    MOUNT.mkdir(parents=True, exist_ok=True)
    spare = WORK / "nbd" / "spare.img"
    spare.write_bytes(bytes(1 << 20))
    main = WORK / "nbd" / "config"
    main.write_text(f"[generic]\nincludedir = {CONF_DIR}\n[spare]\nexportname = {spare}\n")
    run("nbd-server", "-C", str(main), "-p", str(PIDFILE))
    for _ in range(40):
        if PIDFILE.exists():
            break
        time.sleep(0.25)
    write_config(CONFIG, f'export = "nbd"\nexport_name = "{NAME}"\nconfig_dir = "{CONF_DIR}"\npidfile = "{PIDFILE}"')
    yield
    run("nbd-client", "-d", NBD, check=False)
    pid = int(PIDFILE.read_text().strip()) if PIDFILE.exists() else None
    if pid is not None:  # the nbd-server this fixture started; its children end with it
        os.kill(pid, signal.SIGTERM)


def test_nbd_volume_snapshot_corrupt_rollback_reattach(nbd_server: None) -> None:
    """The whole life of an NBD volume target, each step asserting what the client would see."""
    provision = ["provision", VOLUME, "--server", "iscsi", "--export", "nbd", "--size", "256M", "--target", NAME]
    provision += ["--nbd-config-dir", str(CONF_DIR), "--nbd-pidfile", str(PIDFILE)]
    dry = zfstm(*provision, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"write {CONF_DIR}/zfstm-{NAME}.conf" in dry.stdout
    assert run("zfs", "list", VOLUME, check=False).returncode != 0, "--dry-run created the volume"
    done = zfstm(*provision)
    assert done.returncode == 0, done.stderr + done.stdout
    section = nbd.section_path(EXPORT).read_text()
    allowed = nbd.authfile_path(EXPORT).read_text()
    assert nbd.read_section(section, NAME)["exportname"] == f"/dev/zvol/{VOLUME}"
    assert control().is_running(), control().nbd_problems()

    # the first backup: a filesystem and checksummed files, then the client detaches
    attach()
    assert control().sessions(), "a connected client is not seen as a session"
    run("mkfs.ext4", "-q", NBD)
    run("mount", NBD, str(MOUNT))
    expected = write_files(MOUNT)
    run("umount", str(MOUNT))
    detach()
    run("zpool", "sync", POOL)

    # zfstm: the first look starts the quiet period (status reads it, never "first look" again); then known-good
    first = zfstm("run", NAME)
    assert first.returncode == 0, first.stderr
    assert snapshots() == [], "snapshotted before the quiet period"
    status = zfstm("status", "--json", NAME)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["targets"][0]["activity"]["reason"].startswith("no writes for")
    time.sleep(QUIET + 2)
    second = zfstm("run", NAME)
    assert second.returncode == 0, second.stderr
    (good,) = snapshots()
    assert "zfstm-known-good" in run("zfs", "holds", "-H", good).stdout

    # the disk is damaged through the client; a rollback is refused while it is connected, the export left serving
    attach()
    run("dd", "if=/dev/urandom", f"of={NBD}", "bs=1M", "count=8", "oflag=direct")
    assert run("fsck.ext4", "-fn", NBD, check=False).returncode != 0, "the corruption did not show"
    refused = zfstm("rollback", NAME, "--last-good", "--yes")
    assert refused.returncode == 4, refused.stderr + refused.stdout
    assert "logged in" in refused.stderr
    assert nbd.authfile_path(EXPORT).read_text() == allowed, "a refused rollback left the export offline"
    detach()

    # offline means no client gets in; back online it attaches again (what the rollback's stop and start do)
    control().stop()
    assert run("nbd-client", "-N", NAME, HOST, NBD, check=False).returncode != 0, "attached while offline"
    control().start()
    attach()
    detach()

    rolled = zfstm("rollback", NAME, "--last-good", "--yes")
    assert rolled.returncode == 0, rolled.stderr + rolled.stdout
    assert nbd.section_path(EXPORT).read_text() == section, "the export's section changed"
    assert nbd.authfile_path(EXPORT).read_text() == allowed and not nbd.set_aside_path(EXPORT).exists()
    kept = run("zfs", "list", "-H", "-o", "name", "-t", "volume").stdout.split()
    assert any(name.startswith(f"{VOLUME}.before-rollback-") for name in kept), kept

    # the client attaches again under the same export name: the filesystem is clean and every file as it was
    attach()
    fsck = run("fsck.ext4", "-fn", NBD, check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    run("mount", "-o", "ro", NBD, str(MOUNT))
    assert checksums(MOUNT) == expected
    run("umount", str(MOUNT))
    detach()
