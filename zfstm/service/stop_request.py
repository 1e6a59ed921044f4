"""A stop asked for by a signal handler, which the daemon's loop sleeps on.

Not ``threading.Event``: its ``set()`` takes a lock that ``wait()`` holds for a moment, so a SIGTERM landing in
that moment deadlocks the daemon's only thread (seen in the testbed: `systemctl stop` then hung until SIGKILL).
Here the handler only sets a flag and writes a byte to a pipe; the sleep is a ``select`` on that pipe, so a
request made just before or during the sleep ends it at once. The handler does not log either: a write to stderr
interrupted by a handler that writes to stderr raises "reentrant call" at an arbitrary point of the daemon.
"""

from __future__ import annotations

import contextlib
import os
import select
from types import TracebackType


class StopRequest:
    """Set once from a signal handler, never cleared; takes no lock."""

    def __init__(self) -> None:
        self._requested = False
        self.reason = ""
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)

    def request(self, reason: str = "") -> None:
        """Safe inside a signal handler, at any point of the interrupted thread; the first reason is kept."""
        self.reason = self.reason or reason
        self._requested = True
        with contextlib.suppress(BlockingIOError):  # a full pipe of earlier requests already ends the sleep
            os.write(self._write, b"\0")

    def is_set(self) -> bool:
        return self._requested

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until a request or ``timeout`` seconds; whether a stop was requested."""
        if not self._requested:
            select.select([self._read], [], [], timeout)
        return self._requested

    def close(self) -> None:
        os.close(self._read)
        os.close(self._write)

    def __enter__(self) -> StopRequest:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()
