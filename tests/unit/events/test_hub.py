"""The daemon's event loop with a real loopback socket: a logout makes an early tick of that target only; a
regular tick keeps its schedule; garbage and writes outside the shares make none."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import attrs

from tests.unit.timemachine.fixtures import NOW
from zfstm.cli.daemon import event_loop
from zfstm.config.model import Config, FileServerConfig, FileServerKind, Target
from zfstm.events.fce import FceEvent, FcePacket, build_fce
from zfstm.events.hub import EventHub
from zfstm.events.model import EventsConfig, EventSource
from zfstm.events.notice import Notice, build_notice
from zfstm.events.record import listening_since, read_event
from zfstm.lifecycle.decide import TickPlan
from zfstm.lifecycle.outcome import TickReport
from zfstm.service.stop_request import StopRequest
from zfstm.zfs import DatasetName

EMPTY = TickReport(TickPlan(NOW, (), (), (), (), ()), False)
NETATALK = FileServerConfig(kind=FileServerKind.NETATALK)


def config() -> Config:
    targets = (
        Target("tm", DatasetName.parse("tank/tm"), file_server=NETATALK),
        Target("other", DatasetName.parse("tank/other"), file_server=NETATALK),
    )
    events = EventsConfig(fce_listener=("127.0.0.1", 0), settle=timedelta(0), min_interval=timedelta(0))
    return Config("test", targets, events=events)


def send(hub: EventHub, *packets: FcePacket | bytes) -> None:
    assert hub.fce is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for packet in packets:
            sock.sendto(packet if isinstance(packet, bytes) else build_fce(packet), ("127.0.0.1", hub.fce.port))


def ticks_until_the_first_early_one(hub: EventHub, *packets: FcePacket | bytes) -> list[tuple[str, ...] | None]:
    """Run the loop: ``packets`` arrive during the regular tick at start; stop after the first early tick."""
    stop = StopRequest()
    calls: list[tuple[str, ...] | None] = []

    def tick(targets: Sequence[Target] | None) -> TickReport:
        calls.append(None if targets is None else tuple(t.name for t in targets))
        if targets is None and len(calls) == 1:
            send(hub, *packets)
        if targets is not None:
            stop.request()
        return EMPTY

    try:
        assert event_loop(tick, timedelta(hours=1), stop, hub) == 0
    finally:
        hub.close()
    return calls


def test_a_logout_ticks_its_target_early(tmp_path: Path) -> None:
    hub = EventHub(config(), [("tm", "/tank/tm"), ("other", "/tank/other")], tmp_path)
    calls = ticks_until_the_first_early_one(  # what a Mac and a stranger send
        hub,
        b"garbage",
        FcePacket(2, FceEvent.FILE_CREATE, 1, "/etc/shadow", pid=9),
        FcePacket(2, FceEvent.FILE_CREATE, 2, "/tank/tm/Mac.sparsebundle/bands/0", pid=7, user="tmuser"),
        FcePacket(2, FceEvent.LOGOUT, 3, "", pid=7, user="tmuser"),
    )
    assert calls == [None, ("tm",)]
    assert "tm" in hub.ends() and "other" not in hub.ends()
    record = read_event(tmp_path, "tm")
    assert record is not None and record.session_end is not None
    assert record.last.source.value == "netatalk-fce" and "tmuser" in record.last.detail
    assert read_event(tmp_path, "other") is None
    assert listening_since(tmp_path) is not None


def test_a_target_whose_look_finds_the_backup_active_is_looked_at_again(tmp_path: Path) -> None:
    cfg = attrs.evolve(config(), events=attrs.evolve(config().events, settle=timedelta(seconds=0.01)))
    hub = EventHub(cfg, [("tm", "/tank/tm")], tmp_path)
    stop = StopRequest()
    looks: list[int] = []

    def tick(targets: Sequence[Target] | None) -> TickReport:
        if targets is None:
            send(hub, FcePacket(1, FceEvent.LOGOUT, 3, ""))
            return EMPTY
        looks.append(1)
        if len(looks) == 3:
            stop.request()
        return attrs.evolve(EMPTY, busy=("tm",))  # busy: another zfstm run holds the lock; try again

    try:
        assert event_loop(tick, timedelta(hours=1), stop, hub) == 0
    finally:
        hub.close()
    assert len(looks) == 3


def test_a_samba_notice_ticks_the_samba_target(tmp_path: Path) -> None:
    hub = EventHub(config(), [], tmp_path, hook_shares=[("other", "/tank/other")])
    calls = ticks_until_the_first_early_one(hub, build_notice(Notice(EventSource.SAMBA, "/tank/other")))
    assert calls == [None, ("other",)]
    record = read_event(tmp_path, "other")
    assert record is not None and record.last.source is EventSource.SAMBA


@attrs.define
class FakeClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@attrs.define
class Storm:
    """Events that always have a target due: a storm that never ends."""

    clock: FakeClock
    looks: int = 0

    def fds(self) -> list[int]:
        return []

    def receive(self, ready: Sequence[int]) -> None:
        raise AssertionError("no sockets here")

    def due(self) -> list[Target]:
        return list(config().targets[:1])

    def next_due(self) -> float | None:
        return self.clock.now

    def looked(self, targets: Sequence[Target], report: TickReport | None) -> None:
        self.looks += 1


@attrs.define
class FakeStop:
    clock: FakeClock
    reason: str = ""
    stopped: bool = False

    def is_set(self) -> bool:
        return self.stopped

    def wait(self, timeout: float | None = None) -> bool:
        return self.stopped

    def wait_readable(self, timeout: float | None = None, fds: Sequence[int] = ()) -> list[int]:
        self.clock.now += 7.0  # every early look costs 7 s
        return []


def test_a_storm_of_early_looks_never_postpones_the_regular_tick() -> None:
    clock = FakeClock()
    storm, stop = Storm(clock), FakeStop(clock)
    regular: list[float] = []

    def tick(targets: Sequence[Target] | None) -> TickReport:
        if targets is None:
            regular.append(clock.now)
            if len(regular) == 4:
                stop.stopped = True
        return EMPTY

    assert event_loop(tick, timedelta(seconds=60), stop, storm, clock=clock) == 0
    assert storm.looks > 20
    assert all(later - earlier < 60 + 7 for earlier, later in itertools.pairwise(regular))
