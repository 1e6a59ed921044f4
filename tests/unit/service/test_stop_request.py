"""StopRequest: a stop requested by a signal handler ends the daemon's sleep, whenever the signal lands."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from zfstm.service.stop_request import StopRequest

ROOT = Path(__file__).resolve().parents[3]

# A signal every 0.1 ms while the main thread makes and sleeps on a fresh stop, about 50,000 times a second: with
# threading.Event in place of StopRequest this deadlocks (or overflows the stack) within a second.
HAMMER = textwrap.dedent(
    """
    import signal, sys, time
    from zfstm.service.stop_request import StopRequest
    spare = StopRequest()
    current = [spare]
    signal.signal(signal.SIGALRM, lambda signum, frame: current[0].request("SIGALRM"))
    signal.setitimer(signal.ITIMER_REAL, 0.0001, 0.0001)
    began, sleeps = time.monotonic(), 0
    while time.monotonic() - began < 2:
        stop = StopRequest()
        current[0] = stop
        assert not stop.wait(0.001) or stop.reason == "SIGALRM"
        current[0] = spare
        stop.close()
        sleeps += 1
    signal.setitimer(signal.ITIMER_REAL, 0)
    print(sleeps)
    """
)


def test_a_request_before_the_sleep_ends_it_at_once() -> None:
    with StopRequest() as stop:
        stop.request("SIGTERM")
        began = time.monotonic()
        assert stop.wait(60)
        assert time.monotonic() - began < 5
        assert stop.is_set() and stop.reason == "SIGTERM"


def test_the_first_reason_is_kept() -> None:
    with StopRequest() as stop:
        stop.request("SIGTERM")
        stop.request("SIGHUP")
        assert stop.reason == "SIGTERM"


def test_without_a_request_the_sleep_times_out() -> None:
    with StopRequest() as stop:
        assert not stop.wait(0.01)
        assert not stop.is_set()


def test_many_requests_never_block_the_handler() -> None:
    """More requests than the pipe holds: the handler must not block on a full pipe."""
    with StopRequest() as stop:
        for _ in range(100_000):
            stop.request("SIGTERM")
        assert stop.wait(0)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_signals_at_every_moment_of_the_sleep_never_deadlock() -> None:
    result = subprocess.run(
        [sys.executable, "-c", HAMMER], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 100
