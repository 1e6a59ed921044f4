"""A stop asked for by a signal handler, which the daemon's loop sleeps on.

Not ``threading.Event``: its ``set()`` takes a lock that ``wait()`` holds for a moment, so a SIGTERM landing in
that moment deadlocks the daemon's only thread (seen in the testbed: `systemctl stop` then hung until SIGKILL).
Here the handler only sets a flag and writes a byte to a pipe; the sleep is a ``select`` on that pipe, so a
request made just before or during the sleep ends it at once. The handler does not log either: a write to stderr
interrupted by a handler that writes to stderr raises "reentrant call" at an arbitrary point of the daemon.

The pipe is also the interpreter's wakeup fd: the kernel may hand SIGTERM to any thread (pyzfs is imported in a
background thread), and only the main thread's select is woken by the byte Python's C-level handler writes there.
Without it the daemon slept on through ``systemctl stop`` (seen in the testbed).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from collections.abc import Sequence
from types import TracebackType


class StopRequest:
    """Set once from a signal handler, never cleared; takes no lock."""

    def __init__(self) -> None:
        self._requested = False
        self.reason = ""
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._previous_wakeup: int | None = None
        if threading.current_thread() is threading.main_thread():
            self._previous_wakeup = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)

    def request(self, reason: str = "") -> None:
        """Safe inside a signal handler, at any point of the interrupted thread; the first reason is kept."""
        self.reason = self.reason or reason
        self._requested = True
        with contextlib.suppress(BlockingIOError):  # a full pipe of earlier requests already ends the sleep
            os.write(self._write, b"\0")

    def is_set(self) -> bool:
        return self._requested

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until a request or ``timeout`` seconds; whether a stop was requested.

        A byte from another signal (one whose handler requests nothing) is drained and the sleep goes on.
        """
        self.wait_readable(timeout)
        return self._requested

    def wait_readable(self, timeout: float | None = None, fds: Sequence[int] = ()) -> list[int]:
        """Like :meth:`wait`, but also ends when one of ``fds`` (the daemon's event sockets) is readable;
        returns those that are (empty after a stop request or the timeout)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._requested:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self._read, *fds], [], [], left)
            if self._read in readable:
                os.read(self._read, 4096)  # Python's handler runs at the next bytecode: before the loop's test
            ready = [fd for fd in readable if fd != self._read]
            if ready:
                return ready
            if not readable:  # the timeout ran out (without one, select returns only when readable)
                break
        return []

    def close(self) -> None:
        if self._previous_wakeup is not None:
            signal.set_wakeup_fd(self._previous_wakeup)
            self._previous_wakeup = None
        os.close(self._read)
        os.close(self._write)

    def __enter__(self) -> StopRequest:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()
