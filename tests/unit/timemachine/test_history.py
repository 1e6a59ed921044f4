"""SnapshotHistory.plist: completion dates and their latest."""

from __future__ import annotations

import plistlib
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.timemachine.fixtures import history_plist
from tests.unit.timemachine.strategies import formats, plist_dates
from zfstm.timemachine.history import SnapshotHistory, parse_history
from zfstm.timemachine.plist import Unreadable


@given(st.lists(plist_dates, max_size=30), formats)
def test_round_trip_and_latest(completions: list[datetime], fmt: plistlib.PlistFormat) -> None:
    """Every completion date is read back in file order, and the latest is their maximum whatever the order."""
    history = parse_history(history_plist(completions, fmt=fmt))
    assert isinstance(history, SnapshotHistory)
    assert [entry.completed for entry in history.entries] == completions
    assert all(entry.name for entry in history.entries)
    assert history.latest_completion == max(completions, default=None)


def test_damaged_entries_are_skipped_and_reported() -> None:
    """Non-dictionary entries and entries without a date are reported; the good ones still count."""
    data = plistlib.dumps(
        {
            "Snapshots": [
                "junk",
                {"com.apple.backupd.SnapshotName": "no date"},
                {"com.apple.backupd.SnapshotCompletionDate": datetime(2026, 11, 1, 3, 0)},
                {"com.apple.backupd.SnapshotCompletionDate": "yesterday"},
            ]
        }
    )
    history = parse_history(data)
    assert isinstance(history, SnapshotHistory)
    assert len(history.entries) == 3
    assert len(history.problems) == 2
    assert history.latest_completion is not None
    assert history.latest_completion.day == 1


def test_missing_or_wrong_snapshots_key() -> None:
    """No Snapshots key is an empty history with a problem; a Snapshots that is not an array is Unreadable."""
    empty = parse_history(plistlib.dumps({}))
    assert isinstance(empty, SnapshotHistory)
    assert empty.latest_completion is None
    assert empty.problems
    assert isinstance(parse_history(plistlib.dumps({"Snapshots": {"a": 1}})), Unreadable)
