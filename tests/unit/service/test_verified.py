"""Tests for VerifiedFileServer: stop only returns when nothing holds the share, start only when it answers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.unit.service.fakes import FakeControl, FakeRunner, ManualClock
from zfstm.errors import FileServerError
from zfstm.service.asip import Answer
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


def test_asip_probe_runs_asip_status() -> None:
    """The Netatalk probe runs exactly `asip-status localhost` and judges its output."""
    runner = FakeRunner()
    runner.reply(("asip-status", "localhost"), stdout="Machine type: Netatalk4.2.3\n")
    assert asip_probe(runner=runner)().ok
    assert runner.calls == [("asip-status", "localhost")]
