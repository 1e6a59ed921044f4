"""Test doubles for the service package: a recording runner, a manual clock, a scripted control adapter."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from zfstm.command import Completed
from zfstm.service.wait import Waiter


@attrs.define
class FakeRunner:
    """Records every argv; answers from ``replies`` (argv -> Completed, or a function of argv), else exit 0."""

    replies: dict[tuple[str, ...], Completed | Callable[[tuple[str, ...]], Completed]] = attrs.field(factory=dict)
    calls: list[tuple[str, ...]] = attrs.field(factory=list)

    def __call__(self, argv: Sequence[str], *, timeout: float | None) -> Completed:
        key = tuple(argv)
        assert timeout is not None and timeout > 0
        self.calls.append(key)
        reply = self.replies.get(key)
        if reply is None:
            return Completed(argv=key, returncode=0)
        return reply(key) if callable(reply) else reply

    def reply(self, argv: Sequence[str], returncode: int = 0, stdout: str = "", stderr: str = "") -> None:
        self.replies[tuple(argv)] = Completed(argv=tuple(argv), returncode=returncode, stdout=stdout, stderr=stderr)


@attrs.define
class ManualClock:
    """A monotonic clock that only moves when someone sleeps."""

    now: float = 0.0
    sleeps: list[float] = attrs.field(factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def waiter(self, interval: float = 1.0) -> Waiter:
        return Waiter(monotonic=self.monotonic, sleep=self.sleep, interval=interval)


@attrs.define
class FakeControl:
    """A control adapter that logs what was asked of it."""

    log: list[str] = attrs.field(factory=list)
    running: bool = True

    @property
    def name(self) -> str:
        return "fake.service"

    def stop(self) -> None:
        self.log.append("stop")
        self.running = False

    def start(self) -> None:
        self.log.append("start")
        self.running = True

    def is_running(self) -> bool:
        return self.running
