"""Tests for the Linux /proc scanner and the fcntl lock probe, against real processes on the host."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zfstm.errors import FileServerError
from zfstm.service.control import SAMBA_PROCESSES
from zfstm.service.holder_scan import FuserScan, LinuxProcScan, default_scanner, lock_holders

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="scans /proc (Linux)")

HOLD_OPEN = """
import fcntl, sys, time
f = open(sys.argv[1], "a+")
if sys.argv[2] == "lock":
    fcntl.lockf(f, fcntl.LOCK_EX)
print("ready", flush=True)
time.sleep(60)
"""


@pytest.fixture
def spawn() -> Iterator[list[subprocess.Popen[str]]]:
    """Start helper processes and always kill them."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()


def _holder(procs: list[subprocess.Popen[str]], path: Path, mode: str, cwd: Path | None = None) -> int:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(path), mode], stdout=subprocess.PIPE, text=True, cwd=cwd
    )
    procs.append(proc)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc.pid


def test_open_file_and_cwd_are_found(tmp_path: Path, spawn: list[subprocess.Popen[str]]) -> None:
    """A process with a file open under a watched dir, and one whose cwd is there, are both reported."""
    share = tmp_path / "share"
    share.mkdir()
    opener = _holder(spawn, share / "band", "open")
    sitter = subprocess.Popen(["sleep", "60"], cwd=share)
    spawn.append(sitter)  # type: ignore[arg-type]
    time.sleep(0.1)
    found = LinuxProcScan(names=None)([share])
    hows = {(h.pid, h.how.split()[0]) for h in found}
    assert (opener, "fd") in hows
    assert (sitter.pid, "cwd") in hows


def test_name_filter_ignores_other_programs(tmp_path: Path, spawn: list[subprocess.Popen[str]]) -> None:
    """With a name filter (afpd, cnid_dbd...), a python process holding the share is not a file-server holder."""
    _holder(spawn, tmp_path / "band", "open")
    assert LinuxProcScan(names=frozenset({"afpd", "cnid_dbd"}))([tmp_path]) == ()


#: A holder that names itself as Samba's smbd names the process serving a client (prctl PR_SET_NAME).
HOLD_AS_SMBD_CLIENT = """
import ctypes, sys, time
f = open(sys.argv[1], "a+")
ctypes.CDLL(None).prctl(15, b"smbd[127.0.0.1]", 0, 0, 0)
print("ready", flush=True)
time.sleep(60)
"""


def test_the_smbd_serving_a_client_is_a_samba_holder(tmp_path: Path, spawn: list[subprocess.Popen[str]]) -> None:
    """smbd calls the process serving a client ``smbd[ADDRESS]`` (seen in the testbed, Samba 4.22): it holds the
    share's files, so the Samba name filter must count it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_AS_SMBD_CLIENT, str(tmp_path / "band")], stdout=subprocess.PIPE, text=True
    )
    spawn.append(proc)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    assert Path(f"/proc/{proc.pid}/comm").read_text().strip() == "smbd[127.0.0.1]"
    found = LinuxProcScan(names=SAMBA_PROCESSES)([tmp_path])
    assert [h.pid for h in found] == [proc.pid]


def test_unwatched_directory_has_no_holders(tmp_path: Path, spawn: list[subprocess.Popen[str]]) -> None:
    """A process holding a file elsewhere is not reported."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    watched = tmp_path / "watched"
    watched.mkdir()
    _holder(spawn, elsewhere / "f", "open")
    assert LinuxProcScan(names=None)([watched]) == ()


def test_fcntl_lock_owner_is_found(tmp_path: Path, spawn: list[subprocess.Popen[str]]) -> None:
    """F_GETLK on .AppleDB/lock names the pid holding cnid_dbd-style fcntl lock; nothing when unlocked."""
    appledb = tmp_path / ".AppleDB"
    appledb.mkdir()
    lock = appledb / "lock"
    lock.write_text("")
    assert lock_holders([tmp_path], frozenset()) == ()
    pid = _holder(spawn, lock, "lock")
    assert lock_holders([tmp_path], frozenset()) == ((pid, lock),)
    assert lock_holders([appledb], frozenset()) == ((pid, lock),)
    found = LinuxProcScan(names=None)([tmp_path])
    assert any(h.pid == pid and h.how == "fcntl lock" for h in found)


def test_missing_lock_file_probe_is_none(tmp_path: Path) -> None:
    """Probing a lock file that does not exist reports no holder (and creates nothing)."""
    assert lock_holders([tmp_path], frozenset()) == ()
    assert not (tmp_path / "lock").exists()


def test_unprobeable_lock_file_is_an_error(tmp_path: Path) -> None:
    """A lock path that exists but cannot be opened is an error, never "nobody holds it"."""
    (tmp_path / "lock").symlink_to(tmp_path / "elsewhere")  # O_NOFOLLOW refuses it
    with pytest.raises(FileServerError, match="cannot probe"):
        lock_holders([tmp_path], frozenset())


def test_default_scanner_per_platform() -> None:
    """Linux scans /proc; illumos uses fuser."""
    assert isinstance(default_scanner(None, "linux"), LinuxProcScan)
    assert isinstance(default_scanner(None, "sunos5"), FuserScan)
