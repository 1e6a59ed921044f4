"""The pidfile control adapter, verified, against real netatalk 4.2.3 serving a volume on a ZFS dataset.

Start through zfstm (asip-status must answer), open a real AFP session so afpd and cnid_dbd hold the share and the
CNID database, stop through zfstm (it returns only when nothing holds them: /proc scan and the F_GETLK probe of
.AppleDB/lock both agree), and start again. Timings go to $ZFSTM_TESTBED_OUT/service-pidfile.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zfstm.config.model import FileServerKind
from zfstm.errors import FileServerError
from zfstm.netatalk.appledb import probe_lock
from zfstm.service.control import NETATALK_PROCESSES
from zfstm.service.factory import verified_server
from zfstm.service.holder_scan import LinuxProcScan
from zfstm.service.pidfile import PidfileControl
from zfstm.service.verified import VerifiedFileServer
from zfstm.testbed.afpclient import AfpClient
from zfstm.testbed.guest_netatalk import AFP_CONF, afp_conf_text, netatalk_lockfile

pytestmark = pytest.mark.integration

POOL = os.environ.get("ZFSTM_TESTBED_POOL", "tank")
OUT = Path(os.environ.get("ZFSTM_TESTBED_OUT", "/tmp/work/out"))
SHARE = Path(f"/{POOL}/tm")
CNID_DIR = Path(f"/{POOL}/cnid/tm")


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=False)


def netatalk_processes() -> list[str]:
    """`pid name` of every netatalk daemon still alive."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if comm in NETATALK_PROCESSES:
                found.append(f"{entry.name} {comm}")
    return found


@pytest.fixture(scope="module")
def server() -> Iterator[VerifiedFileServer]:
    OUT.mkdir(parents=True, exist_ok=True)
    for dataset in ("tm", "cnid"):
        if not Path(f"/{POOL}/{dataset}").is_dir():
            assert _run("zfs", "create", f"{POOL}/{dataset}").returncode == 0
    shutil.chown(SHARE, user="tmuser", group=_run("id", "-gn", "tmuser").stdout.strip())
    AFP_CONF.write_text(afp_conf_text(POOL))
    control = PidfileControl(argv=["netatalk"], pidfile=netatalk_lockfile(), program="netatalk")
    verified = verified_server(FileServerKind.NETATALK, control, [SHARE, CNID_DIR], stop_timeout=60, start_timeout=60)
    yield verified
    if control.is_running():
        verified.stop()


def test_start_stop_start_against_real_netatalk(server: VerifiedFileServer) -> None:
    """start() returns once asip-status answers; with an AFP session open, stop() returns only when no netatalk
    process holds the share or the CNID database (and F_GETLK agrees); a second start() serves again."""
    timings: dict[str, object] = {"pidfile": str(server.control.pidfile)}  # type: ignore[attr-defined]
    assert not server.is_running()

    t0 = time.monotonic()
    server.start()
    timings["start_s"] = round(time.monotonic() - t0, 2)
    assert server.is_running()
    asip = _run("asip-status", "localhost")
    (OUT / "asip-status.txt").write_text(asip.stdout + asip.stderr)
    assert asip.returncode == 0 and "Netatalk" in asip.stdout

    with AfpClient() as afp:
        afp.login("tmuser", "tmpass")
        name = next(n for n in afp.volume_names() if n.lower() == "tm")
        vol = afp.open_volume(name)
        afp.write_file(vol, 2, "hello.txt", b"hello\n")
        # Positive control: while a Mac is connected, the scan must see afpd/cnid_dbd holding things.
        held = server.holders()
        lock = probe_lock(CNID_DIR / ".AppleDB")
        timings["holders_while_serving"] = [h.describe() for h in held]
        timings["lock_holder_while_serving"] = lock.pid if lock else None
        everything = LinuxProcScan(names=None)([SHARE, CNID_DIR])
        timings["all_holders_while_serving"] = [h.describe() for h in everything]
        assert held, "the scan saw nothing while netatalk served an open session"
        assert lock is not None
        assert any(h.command == "cnid_dbd" for h in held)

        t0 = time.monotonic()
        server.stop()  # the AFP session is still open: afpd must be gone too before this returns
        timings["stop_s"] = round(time.monotonic() - t0, 2)
    timings["left_after_stop"] = netatalk_processes()
    assert server.holders() == ()
    assert probe_lock(CNID_DIR / ".AppleDB") is None
    assert netatalk_processes() == []
    assert not server.is_running()

    t0 = time.monotonic()
    server.start()
    timings["restart_s"] = round(time.monotonic() - t0, 2)
    assert _run("asip-status", "localhost").returncode == 0
    (OUT / "service-pidfile.json").write_text(json.dumps(timings, indent=2))
    server.stop()
    assert netatalk_processes() == []


def test_stop_refuses_a_pidfile_that_names_another_program(server: VerifiedFileServer, tmp_path: Path) -> None:
    """A stale netatalk pidfile pointing at an unrelated live process is refused; that process is not signalled."""
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        fake = tmp_path / "netatalk.pid"
        fake.write_text(f"{sleeper.pid}\n")
        control = PidfileControl(argv=["netatalk"], pidfile=fake, program="netatalk")
        with pytest.raises(FileServerError, match="not signalling"):
            control.stop()
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()
