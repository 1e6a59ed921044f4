"""Stop and start a file server *for certain*: the promise a rollback needs, on top of any control adapter.

``stop()`` returns only when the service manager says the server is down **and** no file-server process (afpd,
cnid_dbd, ...) still holds a file, a working directory, a mapping or a lock under the share or the CNID database;
otherwise FileServerError lists every holder (pid, program, path, how). ``start()`` returns only when the server
answers (``asip-status`` for Netatalk) within the timeout; otherwise FileServerError says what it answered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import attrs

from zfstm.errors import FileServerError
from zfstm.service.asip import Answer, asip_status_argv, judge_asip_status
from zfstm.service.command import Runner
from zfstm.service.control import FileServerControl
from zfstm.service.holder_scan import Scanner
from zfstm.service.holders import Holder, describe_holders
from zfstm.service.runner import run_command
from zfstm.service.wait import Waiter

Probe = Callable[[], Answer]


def as_paths(paths: Iterable[Path]) -> tuple[Path, ...]:
    """Watched directories as an immutable tuple."""
    return tuple(paths)


def asip_probe(host: str = "localhost", expect: str = "Netatalk", runner: Runner = run_command) -> Probe:
    """A probe that asks ``asip-status HOST`` and expects ``expect`` in the machine type."""

    def probe() -> Answer:
        return judge_asip_status(runner(asip_status_argv(host), timeout=15), expect)

    return probe


def always_answers() -> Answer:
    """For servers without a status query (Samba, none): the manager's word is all there is."""
    return Answer(ok=True, detail="no status query for this server")


@attrs.frozen
class VerifiedFileServer:
    """A control adapter plus the checks that make its stop and start safe to build a rollback on."""

    control: FileServerControl
    watched: tuple[Path, ...] = attrs.field(converter=as_paths)
    scan: Scanner
    answers: Probe = always_answers
    stop_timeout: float = 60.0
    start_timeout: float = 60.0
    waiter: Waiter = attrs.field(factory=Waiter)

    @property
    def name(self) -> str:
        return self.control.name

    def is_running(self) -> bool:
        return self.control.is_running()

    def holders(self) -> tuple[Holder, ...]:
        """Who holds something under the watched directories right now."""
        return self.scan(self.watched)

    def stop(self) -> None:
        self.control.stop()
        left: Sequence[Holder] = self.waiter.poll(self.holders, lambda found: not found, self.stop_timeout)
        if left:
            raise FileServerError(
                f"{self.name} was stopped, but after {self.stop_timeout:g} s these still hold the share or its "
                f"CNID database: {describe_holders(left)}; stop them (or wait) before rolling back"
            )

    def start(self) -> None:
        self.control.start()
        answer = self.waiter.poll(self.answers, lambda said: said.ok, self.start_timeout)
        if not answer.ok:
            raise FileServerError(
                f"{self.name} was started but does not answer after {self.start_timeout:g} s: {answer.detail}"
            )
