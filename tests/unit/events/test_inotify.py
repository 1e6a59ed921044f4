"""inotify records: parsed exactly as the kernel lays them out, routed to targets only through the watches."""

from __future__ import annotations

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.timemachine.fixtures import NOW
from zfstm.events.inotify import (
    IN_CLOSE_WRITE,
    IN_CREATE,
    IN_IGNORED,
    IN_ISDIR,
    IN_MOVED_TO,
    IN_Q_OVERFLOW,
    InotifyError,
    InotifyRecord,
    Watched,
    build_record,
    meaning,
    parse_records,
)
from zfstm.events.model import EventKind, EventSource
from zfstm.timemachine.history import HISTORY_PLIST

SHARE = Watched("tm", "/tank/tm")
BUNDLE = Watched("tm", "/tank/tm/Mac.sparsebundle", "Mac.sparsebundle")
WATCHED = {1: SHARE, 2: BUNDLE}

records = st.builds(
    InotifyRecord,
    wd=st.integers(-(2**31), 2**31 - 1),
    mask=st.integers(0, 2**32 - 1),
    cookie=st.integers(0, 2**32 - 1),
    name=st.text(st.characters(exclude_characters="\0", exclude_categories=["Cs"]), max_size=40),
)


@given(st.lists(records, max_size=8))
def test_records_round_trip(given_records: list[InotifyRecord]) -> None:
    assert parse_records(b"".join(build_record(r) for r in given_records)) == tuple(given_records)


@given(st.binary(max_size=200))
def test_any_buffer_parses_or_is_one_inotify_error(data: bytes) -> None:
    with contextlib.suppress(InotifyError):
        parse_records(data)


def test_a_truncated_record_is_refused() -> None:
    whole = build_record(InotifyRecord(2, IN_CLOSE_WRITE, 0, HISTORY_PLIST))
    for cut in (3, 15, len(whole) - 1):
        try:
            parse_records(whole[:cut])
        except InotifyError:
            continue
        raise AssertionError(f"cut at {cut} parsed")


def test_a_history_written_or_renamed_into_a_watched_bundle_is_its_targets_event() -> None:
    for mask in (IN_CLOSE_WRITE, IN_MOVED_TO):
        found = meaning([InotifyRecord(2, mask, 0, HISTORY_PLIST)], WATCHED, NOW)
        assert [(e.target, e.source, e.kind) for e in found.events] == [("tm", EventSource.INOTIFY, EventKind.HISTORY)]
        assert not found.events[0].session_end


def test_other_files_unknown_watches_and_the_share_itself_mean_nothing() -> None:
    found = meaning(
        [
            InotifyRecord(2, IN_CLOSE_WRITE, 0, "com.apple.TimeMachine.MachineID.plist"),
            InotifyRecord(2, IN_CREATE, 0, HISTORY_PLIST),  # created, not yet written
            InotifyRecord(9, IN_CLOSE_WRITE, 0, HISTORY_PLIST),  # a watch zfstm does not know
            InotifyRecord(1, IN_CLOSE_WRITE, 0, HISTORY_PLIST),  # on the share, not in a bundle
            InotifyRecord(2, IN_MOVED_TO | IN_ISDIR, 0, HISTORY_PLIST),  # a directory of that name
        ],
        WATCHED,
        NOW,
    )
    assert found == type(found)()


def test_a_bundle_appearing_in_a_share_is_to_be_watched_but_not_a_first_backup() -> None:
    found = meaning(
        [
            InotifyRecord(1, IN_CREATE | IN_ISDIR, 0, "New.sparsebundle"),
            InotifyRecord(1, IN_MOVED_TO | IN_ISDIR, 0, "Moved.sparsebundle"),
            InotifyRecord(1, IN_CREATE | IN_ISDIR, 0, "First.sparsebundle.incomplete"),
            InotifyRecord(1, IN_CREATE, 0, "file.sparsebundle"),  # not a directory
            InotifyRecord(2, IN_CREATE | IN_ISDIR, 0, "Inner.sparsebundle"),  # inside a bundle
        ],
        WATCHED,
        NOW,
    )
    assert [(w.target, w.path, w.bundle) for w in found.new_bundles] == [
        ("tm", "/tank/tm/New.sparsebundle", "New.sparsebundle"),
        ("tm", "/tank/tm/Moved.sparsebundle", "Moved.sparsebundle"),
    ]


def test_an_overflow_and_dropped_watches_are_reported() -> None:
    found = meaning([InotifyRecord(-1, IN_Q_OVERFLOW), InotifyRecord(2, IN_IGNORED)], WATCHED, NOW)
    assert found.overflow and found.gone == (2,) and not found.events
