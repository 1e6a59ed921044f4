"""A command's result as a value, and the Runner interface adapters are given (pure: nothing runs here).

Adapters (service control, the zfs CLI backend) receive a :class:`Runner`; the real one is
:func:`zfstm.runner.run_command`, tests pass a fake that records the exact command lines and answers with canned
output.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import attrs


def as_argv(argv: Iterable[str]) -> tuple[str, ...]:
    """An argv as an immutable tuple of strings."""
    return tuple(argv)


@attrs.frozen
class Completed:
    """What a finished command said."""

    argv: tuple[str, ...] = attrs.field(converter=as_argv)
    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def command(self) -> str:
        return " ".join(self.argv)

    def why(self) -> str:
        """The command's own explanation, for error messages: stderr, else stdout, else the exit status."""
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return text[-1] if text else f"exit status {self.returncode}"


class Runner(Protocol):
    """Runs argv (never a shell string) and returns what it said; raises only when it could not run at all."""

    def __call__(self, argv: Sequence[str], *, timeout: float | None) -> Completed: ...
