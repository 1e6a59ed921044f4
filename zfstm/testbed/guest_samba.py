"""Samba inside the testbed guest: an smb.conf serving Time Machine shares on loopback, smbd started and stopped
without an init system, Samba accounts, and smbclient as the Mac.

Used by the Samba integration tests (and meant for any test that serves a share over SMB). smbd runs from the
default /etc/samba/smb.conf (the guest's root disk is thrown away after each VM), so its pidfile is
``/run/samba/smbd.pid``: with ``-s OTHER.conf`` Samba names it ``smbd-OTHER.conf.pid`` instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from zfstm.service.pidfile import PidfileControl
from zfstm.testbed.guest_netatalk import start_daemon, wait_port

#: Where Debian's smbd reads its configuration; zfstm provision --write-config adds shares to it.
SMB_CONF = Path("/etc/samba/smb.conf")
SMB_PORT = 445
PID_DIR = Path("/run/samba")
PIDFILE = PID_DIR / "smbd.pid"
#: smbd's start command: it forks into the background and writes PIDFILE.
SMBD_ARGV = ("smbd", "-D")
#: Processes of a running Samba (smbd forks one per client connection; samba-dcerpcd starts on demand).
DAEMONS = ("smbd", "samba-dcerpcd", "rpcd_classic", "rpcd_lsad", "rpcd_winreg")


def global_section(log_file: str = "/tmp/work/smbd.log") -> str:  # noqa: S108 (the guest's work dir)
    """[global] for a standalone server on loopback only, SMB2+, accounts from smbpasswd (no guest access)."""
    return (
        "[global]\n"
        "   server role = standalone server\n"
        "   interfaces = lo\n"
        "   bind interfaces only = yes\n"
        "   smb ports = 445\n"
        "   disable netbios = yes\n"
        "   server min protocol = SMB2_10\n"
        "   map to guest = never\n"
        f"   pid directory = {PID_DIR}\n"
        "   logging = file\n"
        f"   log file = {log_file}\n"
        "   load printers = no\n"
        "   printcap name = /dev/null\n"
        "   fruit:metadata = stream\n"
        "   fruit:model = MacSamba\n"
    )


def add_user(name: str, password: str) -> None:
    """A Samba account for the existing Unix user ``name`` (smbpasswd reads the password twice on stdin)."""
    subprocess.run(
        ["smbpasswd", "-a", "-s", name], input=f"{password}\n{password}\n", text=True, capture_output=True, check=True
    )


def wait_listening(seconds: float = 60) -> float:
    """Wait until smbd accepts connections on port 445; the seconds it took (OSError after ``seconds``)."""
    return wait_port(SMB_PORT, seconds)


def running(*names: str) -> list[int]:
    """Pids of Samba's daemons (or of those called ``names``), by /proc/PID/comm."""
    wanted = names or DAEMONS
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() in wanted:
                    found.append(int(entry.name))
    return found


def prepare() -> None:
    """The directories smbd expects (the guest's /run is a fresh tmpfs)."""
    for path in (PID_DIR, Path("/var/lib/samba/private"), Path("/var/cache/samba"), Path("/var/log/samba")):
        path.mkdir(parents=True, exist_ok=True)


def start(conf_text: str | None = None, *, seconds: float = 60) -> float:
    """Write ``conf_text`` as smb.conf (None: keep the file as it is), start smbd and wait until it accepts SMB
    connections; the seconds that took."""
    prepare()
    if conf_text is not None:
        SMB_CONF.write_text(conf_text)
    started = time.monotonic()
    start_daemon(SMBD_ARGV, "smbd")
    wait_listening(seconds)
    return time.monotonic() - started


def stop(*, seconds: float = 60) -> float:
    """SIGTERM to every smbd and samba-dcerpcd, then wait until none is left; the seconds that took."""
    started = time.monotonic()
    for pid in running():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    while running():
        if time.monotonic() - started > seconds:
            raise TimeoutError(f"Samba still running after {seconds} s: {running()}")
        time.sleep(0.2)
    return time.monotonic() - started


def server() -> PidfileControl:
    """smbd as zfstm's pidfile adapter drives it (call :func:`prepare` and write :data:`SMB_CONF` first)."""
    return PidfileControl(argv=SMBD_ARGV, pidfile=PIDFILE, program="smbd")


def smbclient(share: str, user: str, password: str, commands: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run smbclient's ``commands`` (joined with ``;``) on //127.0.0.1/share over SMB3, logged in as ``user``."""
    argv = ["smbclient", f"//127.0.0.1/{share}", "-U", f"{user}%{password}", "-m", "SMB3", "-c", "; ".join(commands)]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
