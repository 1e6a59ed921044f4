"""Control a file server with no init system: start an argv, stop the pid its pidfile names with SIGTERM.

For the testbed and small hosts. Two launch styles: ``daemonizes=True`` (the program forks and writes its own
pidfile, like ``netatalk`` without ``-d``) and ``daemonizes=False`` (the program stays in the foreground and zfstm
writes the pidfile). Before signalling, the pid's program name is checked against ``program``: a stale pidfile
whose pid now belongs to something else is refused, never killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

import attrs

from zfstm.command import as_argv
from zfstm.errors import EnvironmentMissing, FileServerError
from zfstm.service.processes import pid_alive, pid_program, read_pidfile
from zfstm.service.wait import Waiter


@attrs.define
class PidfileControl:
    """Start ``argv``; stop = SIGTERM to the pid in ``pidfile`` (whose program must be ``program``) and wait."""

    argv: tuple[str, ...] = attrs.field(converter=as_argv)
    pidfile: Path
    program: str
    daemonizes: bool = True
    start_timeout: float = 30.0
    stop_timeout: float = 30.0
    waiter: Waiter = attrs.field(factory=Waiter)
    alive: Callable[[int], bool] = pid_alive
    program_of: Callable[[int], str | None] = pid_program
    _child: subprocess.Popen[bytes] | None = attrs.field(default=None, init=False)

    @property
    def name(self) -> str:
        return f"{self.program} (pidfile {self.pidfile})"

    def is_running(self) -> bool:
        pid = self._pid()
        return pid is not None and self.alive(pid) and self.program_of(pid) == self.program

    def start(self) -> None:
        if self.is_running():
            return
        with tempfile.TemporaryFile() as errors:
            try:
                child = subprocess.Popen(
                    self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
                    start_new_session=True, close_fds=True,
                )  # fmt: skip
            except OSError as exc:
                raise EnvironmentMissing(f"cannot start {self.name}: `{' '.join(self.argv)}`: {exc}") from exc
            if self.daemonizes:
                self._await_launcher(child, errors)
            else:
                self._child = child
                self._write_pidfile(child.pid)
        final = self.waiter.poll(self._pid_if_running, lambda pid: pid is not None, self.start_timeout)
        if final is None:
            raise FileServerError(
                f"started `{' '.join(self.argv)}` but after {self.start_timeout:g} s {self.pidfile} does not name a "
                f"running {self.program}; look at its log"
            )

    def stop(self) -> None:
        pid = self._pid()
        if pid is None or not self.alive(pid):
            self._forget_child()
            return
        program = self.program_of(pid)
        if program != self.program:
            raise FileServerError(
                f"{self.pidfile} names pid {pid}, which runs {program or 'an unknown program'}, not {self.program}: "
                "not signalling it; remove the stale pidfile if the server is really down"
            )
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        still = self.waiter.poll(lambda: self.alive(pid), lambda alive: not alive, self.stop_timeout)
        if still:
            raise FileServerError(
                f"pid {pid} ({program}) from {self.pidfile} is still running {self.stop_timeout:g} s after SIGTERM; "
                f"find out why (e.g. its log) before anything touches the share, or kill it yourself"
            )
        self._forget_child()

    def _pid(self) -> int | None:
        pid = read_pidfile(self.pidfile)
        if pid is None and self._child is not None:
            return self._child.pid
        return pid

    def _pid_if_running(self) -> int | None:
        pid = self._pid()
        return pid if pid is not None and self.alive(pid) and self.program_of(pid) == self.program else None

    def _await_launcher(self, child: subprocess.Popen[bytes], errors: IO[bytes]) -> None:
        try:
            code = child.wait(timeout=self.start_timeout)
        except subprocess.TimeoutExpired:
            raise FileServerError(
                f"`{' '.join(self.argv)}` did not return within {self.start_timeout:g} s; with daemonizes=True it "
                "must fork and exit (use daemonizes=False for a program that stays in the foreground)"
            ) from None
        if code != 0:
            errors.seek(0)
            said = errors.read().decode(errors="replace").strip().splitlines()
            raise FileServerError(
                f"`{' '.join(self.argv)}` exited with status {code}: {said[-1] if said else 'no message'}"
            )

    def _write_pidfile(self, pid: int) -> None:
        partial = self.pidfile.with_name(self.pidfile.name + ".tmp")
        partial.write_text(f"{pid}\n")
        partial.replace(self.pidfile)

    def _forget_child(self) -> None:
        if self._child is not None:
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                self._child.wait(timeout=0)
            if not self.daemonizes:
                with contextlib.suppress(FileNotFoundError):
                    self.pidfile.unlink()
            self._child = None
