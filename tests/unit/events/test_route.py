"""Which target an FCE packet speaks for: only configured shares; a logout names the targets its session wrote."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from zfstm.events.fce import FceEvent, FcePacket
from zfstm.events.model import EventKind, EventSource
from zfstm.events.route import MAX_SESSIONS, Sessions, route_fce, target_of

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SHARES = (("tm", "/tank/tm"), ("tm2", "/tank/tm2"), ("nested", "/tank/tm/inner/"))


def write(path: str, pid: int | None = 10) -> FcePacket:
    return FcePacket(2, FceEvent.FILE_CREATE, 1, path, pid=pid, user="u")


def logout(pid: int | None = 10) -> FcePacket:
    return FcePacket(2, FceEvent.LOGOUT, 2, "", pid=pid, user="u")


def test_paths_inside_a_share_only() -> None:
    assert target_of("/tank/tm/Mac.sparsebundle/bands/1", SHARES) == "tm"
    assert target_of("/tank/tm2/x", SHARES) == "tm2"
    assert target_of("/tank/tm", SHARES) == "tm"
    assert target_of("/tank/tm/inner/x", SHARES) == "nested"
    assert target_of("/tank/tmx/x", SHARES) is None
    assert target_of("/tank/other/x", SHARES) is None
    assert target_of("relative/tank/tm/x", SHARES) is None
    assert target_of("/tank/tm/../other/x", SHARES) is None


def test_a_logout_names_the_targets_its_session_wrote() -> None:
    events, sessions = route_fce(write("/tank/tm2/a"), SHARES, Sessions(), AT)
    assert [(e.target, e.kind) for e in events] == [("tm2", EventKind.WRITE)]
    events, sessions = route_fce(logout(), SHARES, sessions, AT)
    assert [(e.target, e.kind, e.source) for e in events] == [("tm2", EventKind.LOGOUT, EventSource.FCE)]
    assert sessions.touched == {}


def test_a_logout_of_an_unseen_session_is_offered_to_every_share() -> None:
    events, _ = route_fce(logout(pid=None), SHARES, Sessions(), AT)
    assert sorted(e.target for e in events) == ["nested", "tm", "tm2"]
    assert all(e.session_end for e in events)


def test_writes_outside_the_shares_change_nothing() -> None:
    sessions = Sessions()
    events, after = route_fce(write("/etc/passwd"), SHARES, sessions, AT)
    assert events == () and after is sessions


def test_connection_packets_are_not_events() -> None:
    for event in (FceEvent.CONN_START, FceEvent.CONN_BROKEN, FceEvent.LOGIN):
        assert route_fce(FcePacket(2, event, 0, ""), SHARES, Sessions(), AT)[0] == ()


@settings(deadline=None, max_examples=20)  # up to 1,536 packets per example: slow on a loaded host
@given(st.lists(st.integers(0, 2**63), max_size=3 * MAX_SESSIONS // 2))
def test_sessions_stay_bounded(pids: list[int]) -> None:
    sessions = Sessions()
    for pid in pids:
        _, sessions = route_fce(write("/tank/tm/x", pid), SHARES, sessions, AT)
    assert len(sessions.touched) <= MAX_SESSIONS
