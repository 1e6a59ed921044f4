"""A time limit for a whole verb (``zfstm check --timeout``): SIGALRM raises DeadlineExceeded. Shell.

Monitoring systems kill a check that takes too long and report a useless "timed out" without a line of their
own; with a deadline below theirs the check answers UNKNOWN itself and says why. A ``zfs`` child that is running
when the alarm fires is killed by ``subprocess.run`` as the exception passes through it. Main thread only.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from zfstm.errors import DeadlineExceeded


@contextmanager
def deadline(seconds: float | None, what: str = "--timeout") -> Iterator[None]:
    """Raise DeadlineExceeded in the body after ``seconds`` (None or 0: no limit); the old SIGALRM handler is
    restored afterwards."""
    if not seconds:
        yield
        return

    def expired(_signum: int, _frame: FrameType | None) -> None:
        raise DeadlineExceeded(f"no answer within {seconds:g} s ({what})")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def positive_seconds(text: str) -> float:
    """An argparse type: a number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"{text!r} is not a number of seconds above 0")
    return value
