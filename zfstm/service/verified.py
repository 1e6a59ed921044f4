"""Stop and start a file server *for certain*: the promise a rollback needs, on top of any control adapter.

``stop()`` returns only when the service manager says the server is down **and** no file-server process (afpd,
cnid_dbd, ...) still holds a file, a working directory, a mapping or a lock under the share or the CNID database;
otherwise FileServerError lists every holder (pid, program, path, how). ``start()`` returns only when the server
answers (a DSI GetStatus request for Netatalk, what asip-status sends) within the timeout; otherwise FileServerError
says what it answered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import attrs

from zfstm.errors import FileServerError
from zfstm.service.asip import Answer, judge_server_status
from zfstm.service.control import FileServerControl
from zfstm.service.dsi_status import DsiStatusError, ServerStatus, get_server_status
from zfstm.service.holder_scan import Scanner
from zfstm.service.holders import Holder, describe_holders
from zfstm.service.wait import Waiter

Probe = Callable[[], Answer]
StatusQuery = Callable[[str, int], ServerStatus]


def as_paths(paths: Iterable[Path]) -> tuple[Path, ...]:
    """Watched directories as an immutable tuple."""
    return tuple(paths)


def asip_probe(
    host: str = "localhost", expect: str = "Netatalk", port: int = 548, get_status: StatusQuery = get_server_status
) -> Probe:
    """A probe that asks the server's status over DSI and expects ``expect`` in the machine type.

    A server that is still starting refuses or garbles the request: that is a "not yet" answer, never an exception.
    """
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def probe() -> Answer:
        try:
            status = get_status(host, port)
        except (OSError, DsiStatusError) as error:
            return judge_server_status(None, str(error) or type(error).__name__, expect, address=address)
        return judge_server_status(status, "", expect, address=address)

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
