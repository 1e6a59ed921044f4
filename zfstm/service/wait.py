"""Polling with an injected clock: wait until a probe says done, or give up after a timeout.

Time is a parameter (``monotonic`` and ``sleep``), so timeouts are tested without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import attrs

R = TypeVar("R")


@attrs.frozen
class Waiter:
    """How to tell time and how to pause; ``interval`` is the pause between two probes."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    interval: float = 0.1  # a file server that starts in 4 s should not wait a quarter second more

    def poll(self, probe: Callable[[], R], done: Callable[[R], bool], timeout: float) -> R:
        """Call ``probe`` until ``done(result)`` or ``timeout`` seconds passed; return the last result either way.

        The probe always runs at least once, and once more at the deadline, so a zero timeout means "check now".
        """
        deadline = self.monotonic() + timeout
        while True:
            result = probe()
            if done(result):
                return result
            remaining = deadline - self.monotonic()
            if remaining <= 0:
                return result
            self.sleep(min(self.interval, remaining))
