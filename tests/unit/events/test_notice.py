"""`zfstm notify`'s datagrams: hostile input gives NoticeError only; a notice counts only inside a Samba share."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfstm.events.model import EventKind, EventSource
from zfstm.events.notice import MAGIC, Notice, NoticeError, build_notice, parse_notice
from zfstm.events.route import route_notice

AT = datetime(2026, 12, 3, tzinfo=UTC)


@given(st.text(st.characters(exclude_characters="\0", exclude_categories=["Cs"]), max_size=80))
def test_notices_round_trip(tail: str) -> None:
    notice = Notice(EventSource.SAMBA, "/" + tail)
    assert parse_notice(build_notice(notice)) == notice


@given(st.binary(max_size=100))
def test_arbitrary_bytes_after_the_magic_give_a_notice_or_an_error(data: bytes) -> None:
    with contextlib.suppress(NoticeError):
        parse_notice(MAGIC + data)


@pytest.mark.parametrize(
    "raw",
    [b"", b"zfstm", MAGIC + b"samba", MAGIC + b"netatalk-fce\0/x", MAGIC + b"samba\0rel", MAGIC + b"samba\0/a\0b"],
)
def test_defects_are_refused(raw: bytes) -> None:
    with pytest.raises(NoticeError):
        parse_notice(raw)


def test_a_notice_counts_only_inside_a_configured_share() -> None:
    shares = (("office", "/tank/office"),)
    (event,) = route_notice(Notice(EventSource.SAMBA, "/tank/office"), shares, AT)
    assert (event.target, event.kind, event.source) == ("office", EventKind.LOGOUT, EventSource.SAMBA)
    assert route_notice(Notice(EventSource.SAMBA, "/tank/elsewhere"), shares, AT) == ()
