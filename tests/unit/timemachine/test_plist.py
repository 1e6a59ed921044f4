"""Decoding plists: round trips in both formats, and an Unreadable instead of an exception on anything else."""

from __future__ import annotations

import plistlib
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.timemachine.strategies import formats, plist_dicts
from zfstm.timemachine.plist import MAX_PLIST_BYTES, Unreadable, as_utc, first_readable, get_int, load_dict


@given(plist_dicts, formats)
def test_round_trip(value: dict[str, object], fmt: plistlib.PlistFormat) -> None:
    """Any dictionary plistlib writes, in XML or binary, decodes back to an equal dictionary."""
    assert load_dict(plistlib.dumps(value, fmt=fmt), what="test.plist") == value


@given(st.binary(max_size=512))
def test_random_bytes_never_raise(data: bytes) -> None:
    """Random bytes decode to a dictionary or an Unreadable, never an exception."""
    result = load_dict(data, what="x.plist")
    assert isinstance(result, dict | Unreadable)


@given(plist_dicts, formats, st.data())
def test_truncated_plists_never_raise(value: dict[str, object], fmt: plistlib.PlistFormat, data: st.DataObject) -> None:
    """A plist cut anywhere (a half-written file) decodes to a dictionary or an Unreadable, never an exception."""
    encoded = plistlib.dumps(value, fmt=fmt)
    cut = data.draw(st.integers(min_value=0, max_value=len(encoded)))
    assert isinstance(load_dict(encoded[:cut], what="x.plist"), dict | Unreadable)


@given(plist_dicts, formats, st.data())
def test_flipped_bytes_never_raise(value: dict[str, object], fmt: plistlib.PlistFormat, data: st.DataObject) -> None:
    """A plist with one corrupted byte decodes to a dictionary or an Unreadable, never an exception."""
    encoded = bytearray(plistlib.dumps(value, fmt=fmt))
    position = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    encoded[position] = data.draw(st.integers(min_value=0, max_value=255))
    assert isinstance(load_dict(bytes(encoded), what="x.plist"), dict | Unreadable)


def test_top_level_must_be_a_dict() -> None:
    """A plist holding an array at the top is Unreadable, with the type named."""
    result = load_dict(plistlib.dumps([1, 2]), what="a.plist")
    assert isinstance(result, Unreadable)
    assert "list" in result.reason


def test_empty_and_oversized_are_unreadable() -> None:
    """Empty data and data over the size limit are Unreadable without being parsed."""
    assert isinstance(load_dict(b"", what="a.plist"), Unreadable)
    assert isinstance(load_dict(b" " * (MAX_PLIST_BYTES + 1), what="a.plist"), Unreadable)


def test_entity_declarations_are_refused() -> None:
    """An XML plist declaring entities (the billion-laughs shape) is Unreadable, not expanded."""
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        b'<plist version="1.0"><dict><key>k</key><string>&b;</string></dict></plist>'
    )
    assert isinstance(load_dict(bomb, what="bomb.plist"), Unreadable)


def test_first_readable_prefers_primary_and_keeps_both_reasons() -> None:
    """The primary wins when readable, the backup otherwise, and both reasons survive when neither is."""
    missing = Unreadable("a missing", missing=True)
    assert first_readable(1, 2) == 1
    assert first_readable(missing, 2) == 2
    both = first_readable(missing, Unreadable("b missing", missing=True))
    assert isinstance(both, Unreadable)
    assert both.missing
    assert "a missing" in both.reason
    assert "b missing" in both.reason
    assert not first_readable(missing, Unreadable("b corrupt")).missing


def test_as_utc() -> None:
    """Naive datetimes are taken as UTC; aware ones are converted to UTC."""
    assert as_utc(datetime(2026, 1, 1, 12)) == datetime(2026, 1, 1, 12, tzinfo=UTC)
    plus_two = datetime(2026, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc(plus_two).hour == 12
    assert as_utc(plus_two).tzinfo is UTC


def test_get_int_rejects_bools_and_strings() -> None:
    """Integer fields refuse booleans and strings and say so; absent fields are silently None."""
    problems: list[str] = []
    assert get_int({"a": True, "b": "1", "c": 3}, "a", problems) is None
    assert get_int({"b": "1"}, "b", problems) is None
    assert get_int({"c": 3}, "c", problems) == 3
    assert get_int({}, "d", problems) is None
    assert len(problems) == 2
