"""The remembered listings (zfstm.snapshots.memory): when one may stand for a listing, and a hostile file is ignored."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfstm.snapshots.memory import (
    FILE_NAME,
    Memory,
    Remembered,
    decode,
    encode,
    forget,
    read_trusted,
    recall,
    trusted_stamp,
)
from zfstm.zfs import DatasetName, SnapshotName
from zfstm.zfs.types import BookmarkInfo, DatasetListing, SnapshotInfo

DS = DatasetName("tank/tm")
READ = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def info(short: str, txg: int, **extra: object) -> SnapshotInfo:
    return SnapshotInfo(
        name=DS.snapshot(short),
        guid=1000 + txg,
        createtxg=txg,
        creation=datetime.fromtimestamp(1_700_000_000 + txg, tz=UTC),
        used=txg,
        referenced=4096,
        userrefs=int(bool(extra.get("held"))),
        user_props=extra.get("props", {}),  # type: ignore[arg-type]
    )


def remembered(stamp: int = 1_700_000_000) -> Remembered:
    snaps = (info("a", 1, props={"zfstm:managed": "yes"}), info("b", 2, held=True))
    listing = DatasetListing(DS, snaps, (BookmarkInfo("tank/tm#m", 1001, 1),))
    return Remembered(listing, {DS.snapshot("b"): frozenset({"zfstm-known-good"})}, stamp, READ)


def test_encode_decode_round_trip() -> None:
    entry = remembered()
    back = decode(encode({DS.full: entry}))
    assert back == {DS.full: entry}


@given(st.lists(st.tuples(st.integers(1, 2**64 - 1), st.integers(1, 2**40)), max_size=20, unique_by=lambda t: t[1]))
def test_round_trip_keeps_any_guid_and_txg(pairs: list[tuple[int, int]]) -> None:
    snaps = tuple(
        sorted((SnapshotInfo(DS.snapshot(f"s{txg}"), guid, txg) for guid, txg in pairs), key=lambda i: i.createtxg)
    )
    entry = Remembered(DatasetListing(DS, snaps), {}, 5, READ)
    assert decode(encode({DS.full: entry}))[DS.full] == entry


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"format": 2, "datasets": {}}',
        '{"format": 1, "datasets": []}',
    ],
)
def test_a_file_that_does_not_parse_remembers_nothing(text: str) -> None:
    assert decode(text) == {}


@pytest.mark.parametrize(
    "change",
    [
        lambda e: e["snapshots"][0].__setitem__(1, -5),  # negative guid
        lambda e: e["snapshots"][0].__setitem__(2, True),  # a bool is not a txg
        lambda e: e["snapshots"][0].__setitem__(0, "../x"),  # not a snapshot name
        lambda e: e["snapshots"][0].__setitem__(0, "a@b"),
        lambda e: e["snapshots"][0].__setitem__(7, {"zfstm:managed": 1}),
        lambda e: e["snapshots"][0].__setitem__(8, "zfstm-known-good"),
        lambda e: e["snapshots"][0].pop(),
        lambda e: e["bookmarks"][0].__setitem__(0, "x#y"),
        lambda e: e.__setitem__("stamp", "1"),
        lambda e: e.__setitem__("read_at", None),
        lambda e: e.pop("snapshots"),
    ],
)
def test_a_hostile_entry_is_left_out_and_the_others_stay(change: object) -> None:
    document = json.loads(encode({DS.full: remembered(), "tank/other": remembered()}))
    document["datasets"]["tank/other"]["snapshots"] = []
    change(document["datasets"][DS.full])  # type: ignore[operator]
    found = decode(json.dumps(document))
    assert DS.full not in found
    assert "tank/other" in found


def test_a_dataset_name_that_is_not_one_is_left_out() -> None:
    document = json.loads(encode({DS.full: remembered()}))
    document["datasets"]["tank/../etc"] = document["datasets"].pop(DS.full)
    assert decode(json.dumps(document)) == {}


def test_recall_needs_the_same_stamp_a_young_listing_and_a_clock_that_did_not_go_back() -> None:
    entry = remembered(stamp=1_700_000_000)
    assert recall(entry, "1700000000", READ + timedelta(hours=1), DAY) is entry
    assert recall(entry, "1700000001", READ + timedelta(hours=1), DAY) is None  # a snapshot came or went
    assert recall(entry, None, READ, DAY) is None  # snapshots_changed unset
    assert recall(entry, "-", READ, DAY) is None
    assert recall(entry, "1700000000", READ + DAY, DAY) is None  # too old: listed again
    assert recall(entry, "1700000000", READ - timedelta(seconds=1), DAY) is None  # the clock went back
    assert recall(entry, "1700000000", READ, timedelta(0)) is None
    assert recall(None, "1700000000", READ, DAY) is None


def test_a_stamp_too_close_to_the_read_is_not_remembered() -> None:
    """snapshots_changed counts seconds: a change in the same second as a later one would hide that one."""
    now = READ.timestamp()
    assert trusted_stamp(str(int(now) - 10), READ) == int(now) - 10
    assert trusted_stamp(str(int(now) - 1), READ) is None
    assert trusted_stamp(str(int(now) + 100), READ) is None  # in the future
    assert trusted_stamp("-", READ) is None
    assert trusted_stamp(None, READ) is None


def test_memory_remembers_what_the_tick_did_not_act_on() -> None:
    memory = Memory(None, DAY)
    memory.keep(DS.full, remembered())
    memory.keep("tank/b", remembered())
    memory.touch(["tank/b"])
    memory.save()
    assert set(memory.known) == {DS.full}
    assert Memory.load(None, timedelta(0)) is None  # remember = 0: off


def test_the_file_is_written_for_this_user_alone_and_read_back(tmp_path: Path) -> None:
    memory = Memory.load(tmp_path, DAY)
    assert memory is not None and memory.known == {}
    memory.keep(DS.full, remembered())
    memory.save()
    path = tmp_path / FILE_NAME
    assert path.stat().st_mode & 0o777 == 0o600
    again = Memory.load(tmp_path, DAY)
    assert again is not None and again.known == {DS.full: remembered()}
    forget(tmp_path)
    assert not path.exists()


def test_a_file_others_may_write_or_a_link_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    path.write_text(encode({DS.full: remembered()}))
    path.chmod(0o666)
    assert read_trusted(path) == {}
    path.chmod(0o600)
    assert read_trusted(path) != {}
    link = tmp_path / "link.json"
    link.symlink_to(path)
    assert read_trusted(link) == {}
    assert read_trusted(tmp_path / "missing.json") == {}


def test_names_in_the_file_are_the_listing_names() -> None:
    back = decode(encode({DS.full: remembered()}))[DS.full]
    assert [i.name for i in back.listing.snapshots] == [
        SnapshotName.parse("tank/tm@a"),
        SnapshotName.parse("tank/tm@b"),
    ]
    assert back.holds == {SnapshotName.parse("tank/tm@b"): frozenset({"zfstm-known-good"})}
