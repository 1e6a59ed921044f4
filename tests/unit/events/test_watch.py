"""The daemon's file-event watch with the host's real inotify: a SnapshotHistory.plist written into a bundle
(also a bundle made after the daemon started) starts a session watch, and only a session seen open and then gone
becomes a session end and a look."""

from __future__ import annotations

import select
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.events.test_hub import FakeClock, config
from zfstm.config.model import Target
from zfstm.events.fce import FceEvent, FcePacket, build_fce
from zfstm.events.hub import EventHub
from zfstm.events.model import EventKind, EventSource
from zfstm.events.record import read_event
from zfstm.timemachine.history import HISTORY_PLIST

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


class Counts:
    """Session counts handed out in order (then the last one again)."""

    def __init__(self, *counts: int | None) -> None:
        self.counts = list(counts)
        self.asked = 0

    def __call__(self, target: Target, path: str) -> int | None:
        self.asked += 1
        return self.counts.pop(0) if len(self.counts) > 1 else self.counts[0]


@pytest.fixture
def share(tmp_path: Path) -> Path:
    path = tmp_path / "tm"
    (path / "Mac.sparsebundle").mkdir(parents=True)
    return path


def hub_on(share: Path, state: Path, counts: Counts) -> EventHub:
    return EventHub(config(), [("tm", str(share))], state, sessions=counts)


def receive(hub: EventHub) -> None:
    """Wait (at most 5 s) until the inotify descriptor is readable, then let the hub read it."""
    assert hub.files is not None
    ready, _, _ = select.select([hub.files.fileno()], [], [], 5)
    assert ready, "no inotify event within 5 s"
    hub.receive(ready)


def write_history(bundle: Path) -> None:
    """As Time Machine over SMB does it: a temporary file renamed into place."""
    temporary = bundle / (HISTORY_PLIST + ".tmp")
    temporary.write_bytes(b"<plist/>")
    temporary.rename(bundle / HISTORY_PLIST)


@pytest.fixture
def closing() -> Iterator[list[EventHub]]:
    hubs: list[EventHub] = []
    yield hubs
    for hub in hubs:
        hub.close()


def test_a_history_then_a_session_gone_is_a_session_end(share: Path, tmp_path: Path, closing: list[EventHub]) -> None:
    counts = Counts(1, 1, 0)
    hub = hub_on(share, tmp_path / "state", counts)
    closing.append(hub)
    assert any("inotify" in line for line in hub.listening)
    write_history(share / "Mac.sparsebundle")
    receive(hub)
    record = read_event(tmp_path / "state", "tm")
    assert record is not None and record.last.kind is EventKind.HISTORY and record.session_end is None
    due: list[Target] = []
    start = time.monotonic()
    for step in range(1, 4):  # three counts a second apart: open, open, none
        hub.clock = FakeClock(start + step)
        due = hub.due()
    assert counts.asked == 3
    assert [t.name for t in due] == ["tm"]
    assert "tm" in hub.ends()
    record = read_event(tmp_path / "state", "tm")
    assert record is not None and record.last.source is EventSource.INOTIFY and record.session_end is not None


def test_a_history_with_no_session_seen_open_is_no_session_end(
    share: Path, tmp_path: Path, closing: list[EventHub]
) -> None:
    hub = hub_on(share, tmp_path, Counts(0))
    closing.append(hub)
    write_history(share / "Mac.sparsebundle")
    receive(hub)
    start = time.monotonic()
    for step in range(1, 300):
        hub.clock = FakeClock(start + step)
        assert hub.due() == []
    assert not hub.schedule.watches
    assert hub.ends() == {}


def test_a_bundle_made_after_the_start_is_watched_too(share: Path, tmp_path: Path, closing: list[EventHub]) -> None:
    hub = hub_on(share, tmp_path, Counts(1))
    closing.append(hub)
    (share / "New.sparsebundle").mkdir()
    receive(hub)
    write_history(share / "New.sparsebundle")
    receive(hub)
    record = read_event(tmp_path, "tm")
    assert record is not None and "New.sparsebundle" in record.last.detail


def test_other_files_start_no_watch(share: Path, tmp_path: Path, closing: list[EventHub]) -> None:
    hub = hub_on(share, tmp_path, Counts(1, 0))
    closing.append(hub)
    (share / "Mac.sparsebundle" / "com.apple.TimeMachine.MachineID.plist").write_bytes(b"x")
    receive(hub)
    assert not hub.schedule.watches


def test_a_history_and_a_logout_read_together_leave_the_logout_last(
    share: Path, tmp_path: Path, closing: list[EventHub]
) -> None:
    """Both descriptors ready in one wakeup: the session's writes come before its end (status shows the logout;
    the logout ends the watch the history started)."""
    hub = hub_on(share, tmp_path, Counts(1))
    closing.append(hub)
    write_history(share / "Mac.sparsebundle")
    assert hub.fce is not None and hub.files is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(build_fce(FcePacket(2, FceEvent.LOGOUT, 1, "", pid=7)), ("127.0.0.1", hub.fce.port))
    fds = [hub.fce.fileno(), hub.files.fileno()]
    deadline = time.monotonic() + 5
    ready: list[int] = []
    while len(ready) < 2 and time.monotonic() < deadline:
        ready, _, _ = select.select(fds, [], [], 0.1)
    assert len(ready) == 2
    hub.receive(ready)
    record = read_event(tmp_path, "tm")
    assert record is not None and record.last.source is EventSource.FCE
    assert not hub.schedule.watches and "tm" in hub.schedule.pending
