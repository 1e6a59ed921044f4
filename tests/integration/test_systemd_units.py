"""zfstm's systemd units as `zfstm service install` puts them in place, run by a real systemd (PID 1).

The suite boots this file's VM with `python3 -m zfstm.testbed run --systemd` (guest-init.sh hands PID 1 to
systemd). The tests run in file order on one system: the installed zfstm.timer (a drop-in makes it fire seconds
after it starts) runs zfstm.service, which snapshots a share holding a finished Time Machine backup as the
unprivileged user ``zfstm`` with exactly the documented `zfs allow` set (and fails without it); the hardening holds
(the exposure `systemd-analyze security` reports, and a probe run in the unit's own sandbox that cannot write
outside its directories, open a disk or an IP socket); a `prefix` command that needs IP fails under the shipped
units and works with the drop-in the units' comment documents.

zfstm itself is the checkout at /src, run by a small /usr/local/bin/zfstm wrapper (the path the shipped units
name): the guest has no wheel, and what is tested here is the units, the installer and the service's behaviour.
"""

from __future__ import annotations

import json
import os
import pwd
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.unit.timemachine.fixtures import history_plist, info_plist, machine_id_plist

pytestmark = pytest.mark.integration

POOL = os.environ.get("ZFSTM_TESTBED_POOL", "tank")
OUT = Path(os.environ.get("ZFSTM_TESTBED_OUT", "/tmp/work/out"))
DATA = f"{POOL}/tm"
ZFSTM = Path("/usr/local/bin/zfstm")
CONFIG = Path("/etc/zfstm/zfstm.toml")
UNITS = Path("/etc/systemd/system")
STATE = Path("/var/lib/zfstm")
#: What docs/services.md tells administrators to delegate to the service user.
PERMISSIONS = "snapshot,destroy,mount,hold,release,userprop"
PROBE = Path("/usr/local/lib/zfstm-probe.py")
PREFIX = Path("/usr/local/bin/zfs-over-inet")

WRAPPER = """#!/bin/sh
# The checkout as an installed zfstm (byte code from the cache the testbed guest keeps for every user).
PYTHONPATH=/src PYTHONPYCACHEPREFIX=/var/cache/zfstm-pyc exec python3 -m zfstm.cli.main "$@"
"""

#: Runs as zfstm.service's ExecStart (a drop-in) to see the sandbox from inside: what it may and may not do.
PROBE_SCRIPT = """
import json, os, socket
def attempt(what, action):
    try:
        action()
    except OSError as exc:
        return what, __import__("errno").errorcode.get(exc.errno, str(exc.errno))
    return what, "ok"
def write(path):
    return lambda: open(path, "w").write("probe")
def sock(family):
    return lambda: socket.socket(family, socket.SOCK_STREAM).close()
checks = dict([
    attempt("write /etc/zfstm", write("/etc/zfstm/probe")),
    attempt("write /usr/local", write("/usr/local/probe")),
    attempt("write /root", write("/root/probe")),
    attempt("write the share", write("/tank/tm/probe")),
    attempt("write /var/lib/zfstm", write("/var/lib/zfstm/probe")),
    attempt("write /run/zfstm", write("/run/zfstm/probe")),
    attempt("write /tmp", write("/tmp/zfstm-probe")),
    attempt("open /dev/vda", lambda: os.close(os.open("/dev/vda", os.O_RDONLY))),
    attempt("open /dev/zfs", lambda: os.close(os.open("/dev/zfs", os.O_RDWR))),
    attempt("AF_INET socket", sock(socket.AF_INET)),
    attempt("AF_UNIX socket", sock(socket.AF_UNIX)),
    attempt("setuid 0", lambda: os.setuid(0)),
])
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
checks["uid"] = os.getuid()
checks["CapEff"] = status["CapEff"].strip()
checks["NoNewPrivs"] = status["NoNewPrivs"].strip()
open("/var/lib/zfstm/probe.json", "w").write(json.dumps(checks))
"""

#: A `prefix` that needs IP, as ssh does: it reports each zfs command to a TCP listener, then runs it.
PREFIX_SCRIPT = """#!/usr/bin/python3
import os, socket, sys
with socket.create_connection(("127.0.0.1", {port}), timeout=10) as conn:
    conn.sendall((" ".join(sys.argv[1:]) + "\\n").encode())
os.execvp(sys.argv[1], sys.argv[1:])
"""

TIMER_DROPIN = """[Timer]
# Test only: fire once, a second after the timer starts (instead of every 15 minutes).
OnCalendar=
OnActiveSec=1s
RandomizedDelaySec=0
AccuracySec=1s
"""

#: What the units' comment tells administrators to add for the ssh prefix or --syslog udp:.
INET_DROPIN = "[Service]\nRestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n"


def sh(*argv: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False)
    if check:
        assert done.returncode == 0, f"{' '.join(map(str, argv))}: {done.stdout}{done.stderr}"
    return done


def show(unit: str, *props: str) -> dict[str, str]:
    out = sh("systemctl", "show", unit, *(f"--property={p}" for p in props)).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def snapshots() -> list[str]:
    return sh("zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-d", "1", DATA).stdout.split()


def write_config(extra: str = "") -> None:
    CONFIG.write_text(f'[detector]\nquiet_period = "1m"\n\n{extra}[[targets]]\nname = "tm"\ndataset = "{DATA}"\n')
    CONFIG.chmod(0o644)


def drop_in(unit: str, name: str, text: str | None) -> None:
    """Write (or with None remove) a drop-in, as `systemctl edit` would, and reload systemd."""
    path = UNITS / f"{unit}.d" / f"{name}.conf"
    if text is None:
        path.unlink(missing_ok=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    sh("systemctl", "daemon-reload")


def start_tick() -> subprocess.CompletedProcess[str]:
    """One tick of the installed zfstm.service (`systemctl start` waits for a oneshot to finish)."""
    sh("systemctl", "reset-failed", "zfstm.service", check=False)
    return sh("systemctl", "start", "zfstm.service", check=False)


def finished_backup(share: Path) -> None:
    """A sparsebundle whose last backup completed and was verified ten minutes ago, quiet since."""
    done = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    bundle = share / "Mac.sparsebundle"
    (bundle / "bands").mkdir(parents=True)
    files = {
        "Info.plist": info_plist(band_size=64 * 1024),
        "Info.bckup": info_plist(band_size=64 * 1024),
        "token": b"",
        "com.apple.TimeMachine.SnapshotHistory.plist": history_plist([done]),
        "com.apple.TimeMachine.MachineID.plist": machine_id_plist(verification_state=1, verification_date=done),
        **{f"bands/{n:x}": os.urandom(64 * 1024) for n in range(4)},
    }
    for name, data in files.items():
        (bundle / name).write_bytes(data)
    for path in [bundle, *bundle.rglob("*")]:
        os.utime(path, (done.timestamp(), done.timestamp()))


@pytest.fixture(scope="module", autouse=True)
def system() -> Iterator[None]:
    if Path("/proc/1/comm").read_text().strip() != "systemd":
        pytest.fail("PID 1 is not systemd: run this file with `python3 -m zfstm.testbed run --systemd -- ...`")
    OUT.mkdir(parents=True, exist_ok=True)
    ZFSTM.write_text(WRAPPER)
    ZFSTM.chmod(0o755)
    # Byte code of the whole checkout now, as root: the sandboxed service may not write the cache.
    sh("env", "PYTHONPYCACHEPREFIX=/var/cache/zfstm-pyc", "python3", "-m", "compileall", "-q", "-j0", "/src/zfstm")
    sh("zfs", "create", DATA)
    finished_backup(Path(f"/{DATA}"))
    CONFIG.parent.mkdir(parents=True, exist_ok=True)
    write_config()
    sh(ZFSTM, "config", "check", "--config", CONFIG)
    yield
    journal = sh("journalctl", "--no-pager", "-o", "short-monotonic", "-u", "zfstm.service", "-u", "zfstm.timer")
    (OUT / "systemd-journal.txt").write_text(journal.stdout)


def test_service_install_puts_the_units_in_place() -> None:
    """`zfstm service install` writes the units naming the installed zfstm, creates the user, enables the timer."""
    done = sh(ZFSTM, "service", "install")
    version = sh("systemctl", "--version").stdout.splitlines()[0]
    (OUT / "systemd-install.txt").write_text(f"{version}\n{done.stdout}{done.stderr}")
    for unit in ("zfstm.service", "zfstm.timer", "zfstm-daemon.service"):
        assert (UNITS / unit).is_file(), unit
    assert f"ExecStart={ZFSTM} run --config {CONFIG}\n" in (UNITS / "zfstm.service").read_text()
    assert pwd.getpwnam("zfstm").pw_uid != 0
    assert sh("systemctl", "is-enabled", "zfstm.timer").stdout.strip() == "enabled"
    verify = sh("systemd-analyze", "verify", "--man=no", UNITS / "zfstm.service", UNITS / "zfstm.timer", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert show("zfstm.service", "User")["User"] == "zfstm"


def test_without_delegation_the_service_user_cannot_snapshot() -> None:
    """Before `zfs allow`, a tick of the installed service fails and takes nothing: the user really is unprivileged."""
    done = start_tick()
    assert done.returncode != 0
    assert show("zfstm.service", "Result")["Result"] == "exit-code"
    assert snapshots() == []


def test_the_timer_fires_and_the_tick_snapshots_as_the_service_user() -> None:
    """With the documented delegation, the timer (fired by a drop-in) runs the tick, which takes the snapshot;
    its output reaches the journal from the service user's uid."""
    sh("zfs", "allow", "-u", "zfstm", PERMISSIONS, DATA)
    sh("systemctl", "reset-failed", "zfstm.service")
    drop_in("zfstm.timer", "testbed", TIMER_DROPIN)
    sh("systemctl", "restart", "zfstm.timer")
    deadline = time.monotonic() + 240
    while True:
        state = show("zfstm.service", "ActiveState", "Result", "ExecMainStatus", "ExecMainExitTimestampMonotonic")
        if snapshots() and state["ActiveState"] == "inactive" and state["ExecMainExitTimestampMonotonic"] != "0":
            break
        assert time.monotonic() < deadline, f"the timer did not run a successful tick in 240 s: {state}"
        time.sleep(2)
    sh("systemctl", "stop", "zfstm.timer")
    timer = show("zfstm.timer", "LastTriggerUSecMonotonic")
    (OUT / "systemd-timer.json").write_text(json.dumps({"service": state, "timer": timer, "snapshots": snapshots()}))
    assert state["Result"] == "success" and state["ExecMainStatus"] == "0", state
    assert timer["LastTriggerUSecMonotonic"] not in {"", "0"}
    assert len(snapshots()) == 1
    uid = pwd.getpwnam("zfstm").pw_uid
    said = sh("journalctl", "--no-pager", "-o", "cat", "_SYSTEMD_UNIT=zfstm.service", f"_UID={uid}").stdout
    assert said.strip(), "nothing in the journal from the zfstm user's processes"


def test_the_hardening_holds() -> None:
    """`systemd-analyze security` rates the unit; run inside the unit's sandbox, a probe may write only its state,
    runtime and private tmp directories, may open /dev/zfs but no disk, no IP socket, and has no capabilities."""
    rating = sh("systemd-analyze", "security", "--no-pager", "zfstm.service", check=False)
    (OUT / "systemd-security.txt").write_text(rating.stdout + rating.stderr)
    overall = next(line for line in rating.stdout.splitlines() if "Overall exposure level" in line)
    exposure = float(overall.split(":", 1)[1].split()[0])
    PROBE.write_text(PROBE_SCRIPT)
    drop_in("zfstm.service", "probe", f"[Service]\nExecStart=\nExecStart=/usr/bin/python3 {PROBE}\n")
    try:
        assert start_tick().returncode == 0
    finally:
        drop_in("zfstm.service", "probe", None)
    seen = json.loads((STATE / "probe.json").read_text())
    (OUT / "systemd-probe.json").write_text(json.dumps({**seen, "exposure": exposure}, indent=2))
    assert exposure <= 5.0, overall  # "OK" (< 5) on systemd's scale from 0 (locked down) to 10 (exposed)
    for outside in ("write /etc/zfstm", "write /usr/local", "write /root", "write the share"):
        assert seen[outside] in {"EROFS", "EACCES"}, (outside, seen)
    for inside in ("write /var/lib/zfstm", "write /run/zfstm", "write /tmp", "open /dev/zfs", "AF_UNIX socket"):
        assert seen[inside] == "ok", (inside, seen)
    assert seen["open /dev/vda"] in {"EPERM", "EACCES"}  # (the disk is root:disk 0660 as well)
    assert seen["AF_INET socket"] == "EAFNOSUPPORT"
    assert seen["setuid 0"] == "EPERM"
    assert seen["uid"] == pwd.getpwnam("zfstm").pw_uid
    assert int(seen["CapEff"], 16) == 0 and seen["NoNewPrivs"] == "1"
    assert not Path("/tmp/zfstm-probe").exists()  # the unit's /tmp is its own


class Listener:
    """A TCP server on loopback that keeps every line sent to it (the far end of the `prefix`)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.lines: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.server.accept()
            with conn:
                self.lines += conn.makefile().read().splitlines()


def test_a_prefix_that_needs_ip_works_only_with_the_documented_drop_in() -> None:
    """A `prefix` command that opens a TCP connection (as ssh does) fails under the shipped AF_UNIX-only units; with
    `RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6` in a drop-in, every zfs command goes through it."""
    listener = Listener()
    PREFIX.write_text(PREFIX_SCRIPT.format(port=listener.port))
    PREFIX.chmod(0o755)
    write_config(f'[backend]\nkind = "cli"\nprefix = ["{PREFIX}"]\nprefix_joins = false\n\n')
    refused = start_tick()
    assert refused.returncode != 0
    assert listener.lines == []
    said = sh("journalctl", "--no-pager", "-o", "cat", "_SYSTEMD_UNIT=zfstm.service").stdout
    assert "Address family not supported by protocol" in said
    drop_in("zfstm.service", "inet", INET_DROPIN)
    done = start_tick()
    sh("systemctl", "status", "--no-pager", "zfstm.service", check=False)
    (OUT / "systemd-prefix.json").write_text(json.dumps({"lines": listener.lines}, indent=2))
    assert done.returncode == 0, show("zfstm.service", "Result", "ExecMainStatus")
    assert listener.lines and all(line.startswith("zfs ") for line in listener.lines), listener.lines
