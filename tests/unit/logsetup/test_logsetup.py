"""Log lines for SMF and journald: one line per event, a level word, journald priorities, syslog addresses."""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfstm.errors import UsageError
from zfstm.logsetup import OneLineFormatter, priority, setup_logging, syslog_address


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def record(message: str, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("zfstm.x", level, __file__, 1, message, None, None)


@given(st.text())
def test_every_record_is_exactly_one_line(message: str) -> None:
    """Whatever the message holds (newlines, CRs), the formatted record has no line break."""
    for journald in (True, False):
        line = OneLineFormatter(journald=journald).format(record(message))
        assert "\n" not in line and "\r" not in line


def test_journald_lines_carry_the_priority_prefix() -> None:
    """Under journald a WARNING starts with <4>, an ERROR with <3>; no timestamp (journald adds one)."""
    assert OneLineFormatter(journald=True).format(record("x")) == "<4>zfstm: WARNING: x"
    assert OneLineFormatter(journald=True).format(record("y", logging.ERROR)) == "<3>zfstm: ERROR: y"


def test_plain_lines_have_a_utc_timestamp_and_level() -> None:
    """Outside journald (SMF's log file, a terminal) a line starts with an ISO UTC time and says its level."""
    line = OneLineFormatter(journald=False).format(record("disk full"))
    assert line.endswith("Z zfstm: WARNING: disk full") and line[4] == "-"


def test_priority_of_levels() -> None:
    """Python levels map to syslog priorities; in-between levels take the more severe neighbour."""
    assert [priority(lv) for lv in (10, 20, 25, 30, 40, 50, 60)] == [7, 6, 4, 4, 3, 2, 2]


def test_setup_honours_verbosity_and_journal_stream(restore_root: None) -> None:
    """-v gives INFO; $JOURNAL_STREAM switches to priority prefixes; a module logger reaches the stream."""
    out = io.StringIO()
    setup_logging(1, stream=out, environ={"JOURNAL_STREAM": "8:123"})
    logging.getLogger("zfstm.lifecycle").info("took tank/tm@x")
    logging.getLogger("zfstm.lifecycle").debug("hidden")
    assert out.getvalue() == "<6>zfstm: INFO: took tank/tm@x\n"


def test_syslog_addresses(tmp_path: Path) -> None:
    """udp:HOST:PORT and paths are taken as given; a malformed udp address is a usage error."""
    assert syslog_address("udp:127.0.0.1:514") == ("127.0.0.1", 514)
    assert syslog_address("/dev/log") == "/dev/log"
    with pytest.raises(UsageError):
        syslog_address("udp:nohost")


def test_syslog_handler_sends_to_a_unix_socket(tmp_path: Path, restore_root: None) -> None:
    """--syslog PATH delivers each event as one datagram to the socket."""
    path = str(tmp_path / "log")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    try:
        setup_logging(0, path, stream=io.StringIO(), environ={})
        logging.getLogger("zfstm.x").warning("verification failed on tank/tm")
        data = server.recv(4096).decode()
    finally:
        server.close()
    assert "zfstm[" in data and "WARNING: verification failed on tank/tm" in data
