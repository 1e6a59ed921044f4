"""Tests for VerifiedFileServer: stop only returns when nothing holds the share, start only when it answers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.unit.service.fakes import FakeControl, ManualClock
from zfstm.errors import FileServerError
from zfstm.service.asip import Answer
from zfstm.service.dsi_status import DsiStatusError, ServerStatus
from zfstm.service.holders import Holder
from zfstm.service.verified import VerifiedFileServer, asip_probe

WATCHED = (Path("/tank/tm"), Path("/tank/cnid/tm"))
DBD = Holder(pid=303, command="cnid_dbd", path="/tank/cnid/tm/.AppleDB/lock", how="fcntl lock")


def _server(
    control: FakeControl, scans: list[tuple[Holder, ...]], answers: list[Answer], clock: ManualClock
) -> VerifiedFileServer:
    def scan(dirs: Sequence[Path]) -> tuple[Holder, ...]:
        assert tuple(dirs) == WATCHED
        control.log.append("scan")
        return scans.pop(0) if len(scans) > 1 else scans[0]

    def probe() -> Answer:
        control.log.append("probe")
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return VerifiedFileServer(
        control=control, watched=WATCHED, scan=scan, answers=probe, stop_timeout=5, start_timeout=5,
        waiter=clock.waiter(),
    )  # fmt: skip


def test_stop_waits_until_holders_are_gone() -> None:
    """stop() asks the manager first, then rescans until cnid_dbd let go."""
    control, clock = FakeControl(), ManualClock()
    server = _server(control, [(DBD,), (DBD,), ()], [Answer(True, "")], clock)
    server.stop()
    assert control.log == ["stop", "scan", "scan", "scan"]
    assert clock.now == 2


def test_stop_timeout_names_what_still_holds() -> None:
    """When holders stay past the timeout, FileServerError names pid, program, path and how."""
    control, clock = FakeControl(), ManualClock()
    server = _server(control, [(DBD,)], [Answer(True, "")], clock)
    with pytest.raises(FileServerError) as info:
        server.stop()
    message = str(info.value)
    assert "fake.service" in message
    assert "pid 303 (cnid_dbd) holds /tank/cnid/tm/.AppleDB/lock (fcntl lock)" in message
    assert clock.now == 5


def test_start_waits_for_an_answer() -> None:
    """start() asks the manager first, then probes until the server answers."""
    control, clock = FakeControl(running=False), ManualClock()
    server = _server(control, [()], [Answer(False, "refused"), Answer(True, "Netatalk4.2.3")], clock)
    server.start()
    assert control.log == ["start", "probe", "probe"]


def test_start_without_answer_says_what_the_probe_saw() -> None:
    """A server that never answers gives FileServerError with the last probe's detail."""
    control, clock = FakeControl(running=False), ManualClock()
    server = _server(control, [()], [Answer(False, "Connection refused")], clock)
    with pytest.raises(FileServerError, match="does not answer after 5 s: Connection refused"):
        server.start()


def test_asip_probe_asks_the_dsi_status() -> None:
    """The Netatalk probe asks localhost:548 for its DSI status and judges the machine type."""
    asked: list[tuple[str, int]] = []

    def get_status(host: str, port: int) -> ServerStatus:
        asked.append((host, port))
        return ServerStatus(machine_type="Netatalk4.2.3", server_name="tm", afp_versions=("AFP3.4",))

    answer = asip_probe(get_status=get_status)()
    assert answer == Answer(ok=True, detail="machine type Netatalk4.2.3")
    assert asked == [("localhost", 548)]


@pytest.mark.parametrize("error", [ConnectionRefusedError(111, "Connection refused"), DsiStatusError("DSI flags 0")])
def test_asip_probe_turns_no_answer_into_not_ok(error: Exception) -> None:
    """Refused connections and garbled replies are a "not yet" answer naming the address, not an exception."""

    def get_status(host: str, port: int) -> ServerStatus:
        raise error

    answer = asip_probe(host="::1", port=10548, get_status=get_status)()
    assert not answer.ok
    assert answer.detail == f"AFP server at [::1]:10548 does not answer: {error}"
