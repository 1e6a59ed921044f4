"""Tests for the pidfile adapter against real processes: start, is_running, SIGTERM stop, refusals, timeouts."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from zfstm.errors import EnvironmentMissing, FileServerError
from zfstm.service.pidfile import PidfileControl
from zfstm.service.processes import pid_alive, read_pidfile
from zfstm.service.wait import Waiter

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc for program names")

FAST = Waiter(interval=0.05)
# A daemon in miniature: fork, let the parent exit, write the child's pid, serve until SIGTERM.
DAEMON = """
import os, sys, time
if os.fork():
    sys.exit(0)
os.setsid()
with open(sys.argv[1], "w") as f:
    f.write(f"{os.getpid()}\\n")
time.sleep(60)
"""
STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('x', flush=True); time.sleep(60)"


@pytest.fixture
def cleanup() -> Iterator[list[int]]:
    """Pids to SIGKILL after the test, whatever happened."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _ignores_sigterm(pid: int) -> bool:
    """Whether /proc/PID/status shows SIGTERM in the ignored set (the helper is ready to be stubborn)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


def _comm_of_python() -> str:
    return Path("/proc/self/comm").read_text().strip()


def test_foreground_program_start_stop(tmp_path: Path, cleanup: list[int]) -> None:
    """A foreground program is started, its pid recorded, SIGTERM stops it, and the pidfile zfstm wrote goes."""
    pidfile = tmp_path / "sleep.pid"
    control = PidfileControl(argv=["sleep", "60"], pidfile=pidfile, program="sleep", daemonizes=False, waiter=FAST)
    assert not control.is_running()
    control.start()
    pid = read_pidfile(pidfile)
    assert pid is not None
    cleanup.append(pid)
    assert control.is_running()
    control.stop()
    assert not pid_alive(pid)
    assert not control.is_running()
    assert not pidfile.exists()


def test_daemonizing_program_start_stop(tmp_path: Path, cleanup: list[int]) -> None:
    """A program that forks and writes its own pidfile is started (launcher waited for) and stopped by its pid."""
    pidfile = tmp_path / "d.pid"
    control = PidfileControl(
        argv=[sys.executable, "-c", DAEMON, str(pidfile)], pidfile=pidfile, program=_comm_of_python(), waiter=FAST
    )
    control.start()
    pid = read_pidfile(pidfile)
    assert pid is not None
    cleanup.append(pid)
    assert control.is_running()
    control.start()  # already running: nothing new is started
    assert read_pidfile(pidfile) == pid
    control.stop()
    assert not pid_alive(pid)


def test_stale_pidfile_naming_another_program_is_refused(tmp_path: Path) -> None:
    """A pidfile whose pid runs something else is never signalled: FileServerError names pid and program."""
    pidfile = tmp_path / "netatalk.pid"
    pidfile.write_text(f"{os.getpid()}\n")  # this very test process
    control = PidfileControl(argv=["netatalk"], pidfile=pidfile, program="netatalk", waiter=FAST)
    assert not control.is_running()
    with pytest.raises(FileServerError) as info:
        control.stop()
    assert f"pid {os.getpid()}" in str(info.value)
    assert "not signalling" in str(info.value)


def test_dead_pid_in_pidfile_means_stopped(tmp_path: Path) -> None:
    """A pidfile naming a pid that no longer exists means the server is down; stop() has nothing to do."""
    pidfile = tmp_path / "netatalk.pid"
    pidfile.write_text("999999999\n")
    control = PidfileControl(argv=["netatalk"], pidfile=pidfile, program="netatalk", waiter=FAST)
    assert not control.is_running()
    control.stop()


def test_stop_timeout_says_what_is_still_running(tmp_path: Path, cleanup: list[int]) -> None:
    """A process ignoring SIGTERM past the timeout gives FileServerError with its pid and program."""
    pidfile = tmp_path / "stubborn.pid"
    control = PidfileControl(
        argv=[sys.executable, "-c", STUBBORN], pidfile=pidfile, program=_comm_of_python(),
        daemonizes=False, stop_timeout=0.5, waiter=FAST,
    )  # fmt: skip
    control.start()
    pid = read_pidfile(pidfile)
    assert pid is not None
    cleanup.append(pid)
    assert FAST.poll(lambda: _ignores_sigterm(pid), bool, 10), "helper never ignored SIGTERM"
    with pytest.raises(FileServerError) as info:
        control.stop()
    assert f"pid {pid} ({_comm_of_python()})" in str(info.value)
    assert "after SIGTERM" in str(info.value)
    assert pid_alive(pid)


def test_failing_launcher_reports_its_stderr(tmp_path: Path) -> None:
    """A launcher exiting non-zero gives FileServerError with its status and last stderr line."""
    control = PidfileControl(
        argv=[sys.executable, "-c", "import sys; sys.exit('afp.conf: bad line 3')"],
        pidfile=tmp_path / "x.pid", program="netatalk", waiter=FAST,
    )  # fmt: skip
    with pytest.raises(FileServerError, match=r"status 1: afp.conf: bad line 3"):
        control.start()


def test_launcher_that_never_writes_pidfile_times_out(tmp_path: Path) -> None:
    """A launcher that exits 0 without a running program behind the pidfile is a start failure."""
    control = PidfileControl(
        argv=["true"], pidfile=tmp_path / "x.pid", program="netatalk", start_timeout=0.3, waiter=FAST
    )
    with pytest.raises(FileServerError, match="does not name a running netatalk"):
        control.start()


def test_missing_program_is_environment_missing(tmp_path: Path) -> None:
    """An argv whose program is not installed says so."""
    control = PidfileControl(argv=["/nonexistent/netatalk"], pidfile=tmp_path / "x.pid", program="netatalk")
    with pytest.raises(EnvironmentMissing, match="/nonexistent/netatalk"):
        control.start()


@pytest.mark.parametrize(
    ("text", "pid"), [("123\n", 123), ("  77 extra\n", 77), ("", None), ("abc", None), ("0", None)]
)
def test_read_pidfile(tmp_path: Path, text: str, pid: int | None) -> None:
    """The first token of a pidfile is the pid; empty, garbage or 0 is no pid."""
    path = tmp_path / "p"
    path.write_text(text)
    assert read_pidfile(path) == pid
