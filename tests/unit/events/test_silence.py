"""`zfstm check` warns when events are configured but none arrived for ``silence_warning``."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.timemachine.fixtures import NOW
from zfstm.check.verdict import State
from zfstm.config.model import Config, FileServerConfig, FileServerKind, Target
from zfstm.events.model import EventKind, EventsConfig, EventSource, SessionEvent
from zfstm.events.record import EventRecord
from zfstm.events.silence import silence_finding
from zfstm.zfs import DatasetName

TARGET = Target("tm", DatasetName.parse("tank/tm"), file_server=FileServerConfig(kind=FileServerKind.NETATALK))
ON = Config("t", (TARGET,), events=EventsConfig(fce_listener=("127.0.0.1", 12250)))
DAY = timedelta(days=1)


def record(age: timedelta) -> EventRecord:
    return EventRecord(SessionEvent("tm", EventSource.FCE, EventKind.LOGOUT, NOW - age), NOW - age)


def test_nothing_to_say_without_events_or_for_other_servers() -> None:
    assert silence_finding(Config("t", (TARGET,)), TARGET, None, None, NOW) is None
    samba = Target("s", DatasetName.parse("tank/s"), file_server=FileServerConfig(kind=FileServerKind.SAMBA))
    assert silence_finding(ON, samba, None, None, NOW) is None


def test_a_recent_event_is_ok_an_old_one_warns() -> None:
    assert silence_finding(ON, TARGET, record(DAY), NOW - 30 * DAY, NOW) is None
    finding = silence_finding(ON, TARGET, record(15 * DAY), NOW - 30 * DAY, NOW)
    assert finding is not None and finding.state is State.WARNING and "afp.conf" in finding.message


def test_listening_without_any_event_warns_only_after_the_period() -> None:
    assert silence_finding(ON, TARGET, None, NOW - DAY, NOW) is None
    finding = silence_finding(ON, TARGET, None, NOW - 20 * DAY, NOW)
    assert finding is not None and "since the daemon started" in finding.message


def test_never_listened_warns() -> None:
    finding = silence_finding(ON, TARGET, None, None, NOW)
    assert finding is not None and "daemon" in finding.message


def test_status_renders_the_last_event() -> None:
    from zfstm.lifecycle.status import event_json, event_text

    assert event_json(None) is None
    shown = event_json(record(DAY))
    assert shown is not None and shown["source"] == "netatalk-fce" and shown["kind"] == "logout"
    assert shown["session_end"] is not None
    assert "from netatalk-fce" in event_text(record(DAY))
