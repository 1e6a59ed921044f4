"""The [events] settings: loopback listeners only; what provision tells the administrator to add."""

from __future__ import annotations

from datetime import timedelta

import pytest

from zfstm.events.model import DEFAULT_FCE_PORT, EventsConfig, fce_global_lines, parse_listener
from zfstm.netatalk.afpconf import parse_ini


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:12251", ("127.0.0.1", 12251)),
        ("127.0.0.1", ("127.0.0.1", DEFAULT_FCE_PORT)),
        ("[::1]:4000", ("::1", 4000)),
        ("::1", ("::1", DEFAULT_FCE_PORT)),
        (" 127.0.0.2:1 ", ("127.0.0.2", 1)),
    ],
)
def test_loopback_listeners(text: str, expected: tuple[str, int]) -> None:
    assert parse_listener(text) == expected


@pytest.mark.parametrize(
    "text", ["0.0.0.0:12250", "192.168.1.2", "localhost:12250", "127.0.0.1:0", "127.0.0.1:99999", "[::]:1", "x:y"]
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"loopback|port|not an IP"):
        parse_listener(text)


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="settle"):
        EventsConfig(settle=timedelta(seconds=-1))
    assert not EventsConfig().enabled
    assert EventsConfig(fce_listener=("127.0.0.1", 1)).enabled


def test_the_fce_lines_parse_as_global_options() -> None:
    doc = parse_ini("[Global]\n" + "\n".join(fce_global_lines(4242)) + "\n", "afp.conf")
    assert doc.get("global", "fce listener") == "127.0.0.1:4242"
    assert doc.get("global", "fce version") == "2"
    assert "logout" in (doc.get("global", "fce events") or "").split(",")
