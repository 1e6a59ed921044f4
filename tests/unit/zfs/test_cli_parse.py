"""Parsing zfs -H -p output into typed values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.zfs.strategies import snapshot_names
from zfstm.errors import ZfsError
from zfstm.zfs.cli_parse import (
    parse_get,
    parse_get_many,
    parse_holds,
    parse_local_properties,
    parse_many,
    parse_names,
    parse_reclaim,
    parse_snapshot_list,
    parse_snapshot_user_props,
)
from zfstm.zfs.names import SnapshotName
from zfstm.zfs.types import SnapshotProperty


@given(st.lists(st.tuples(snapshot_names(), st.integers(1, 2**64 - 1), st.integers(1, 2**40)), max_size=10))
def test_list_round_trip_sorted_by_createtxg(rows: list[tuple[SnapshotName, int, int]]) -> None:
    """Fast listing lines parse back to the same names, guids and createtxgs, oldest first."""
    output = "".join(f"{n.full}\t{g}\t{t}\n" for n, g, t in rows)
    infos = parse_snapshot_list(output, [])
    assert sorted((i.createtxg, i.name.full, i.guid) for i in infos) == sorted((t, n.full, g) for n, g, t in rows)
    assert [i.createtxg for i in infos] == sorted(t for _, _, t in rows)


def test_slow_columns_are_typed() -> None:
    """creation becomes aware UTC, sizes ints, and '-' stays None."""
    output = "tank/a@s\t17\t42\t1700000000\t0\t12288\t-\t2\n"
    props = [
        SnapshotProperty.CREATION,
        SnapshotProperty.USED,
        SnapshotProperty.REFERENCED,
        SnapshotProperty.WRITTEN,
        SnapshotProperty.USERREFS,
    ]
    (info,) = parse_snapshot_list(output, props)
    assert info.creation == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert (info.used, info.referenced, info.written, info.userrefs) == (0, 12288, None, 2)


def test_bad_listing_line_is_an_error() -> None:
    """A line with the wrong number of columns or a non-number raises ZfsError rather than guessing."""
    with pytest.raises(ZfsError):
        parse_snapshot_list("tank/a@s\t17\n", [])
    with pytest.raises(ZfsError):
        parse_snapshot_list("tank/a@s\tx\t42\n", [])


def test_user_props_only_own_sources() -> None:
    """Only values set on the snapshot itself (local/received) count; unset and inherited ones do not."""
    output = (
        "tank/a@s1\tzfstm:label\thourly\tlocal\n"
        "tank/a@s1\tzfstm:other\t-\t-\n"
        "tank/a@s2\tzfstm:label\tx\tinherited from tank/a\n"
        "tank/a\tzfstm:label\ty\tlocal\n"
    )
    assert parse_snapshot_user_props(output) == {SnapshotName.parse("tank/a@s1"): {"zfstm:label": "hourly"}}


def test_holds_and_get() -> None:
    """Holds parse per snapshot to tag -> UTC time; get gives None for unset values."""
    holds = parse_holds("tank/a@s\tkeep it\t1700000000\ntank/a@t\tx\t1700000001\n")
    assert holds[SnapshotName.parse("tank/a@s")] == {"keep it": datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)}
    assert parse_get("origin\t-\t-\nzfstm:x\t-\tlocal\ncompression\tlz4\tlocal\n") == {
        "origin": None,
        "zfstm:x": "-",
        "compression": "lz4",
    }


def test_local_properties_keep_tabs_in_values() -> None:
    """property<TAB>value lines; a value may contain tabs; a line without a tab is an error, not a guess."""
    output = "compression\tlz4\nzfstm:note\ta\tb\n\nmountpoint\t/tank/tm\n"
    assert parse_local_properties(output) == {"compression": "lz4", "zfstm:note": "a\tb", "mountpoint": "/tank/tm"}
    assert parse_local_properties("") == {}
    with pytest.raises(ZfsError):
        parse_local_properties("compression lz4\n")


def test_names_and_reclaim() -> None:
    """Names one per line (spaces kept); the reclaim figure of `zfs destroy -nvp`, None when it is missing."""
    assert parse_names("tank/tm\ntank/tm/Time Machine\n\n") == ["tank/tm", "tank/tm/Time Machine"]
    dry_run = "destroy\ttank/tm@a\ndestroy\ttank/tm@b c\nreclaim\t3145728\n"
    assert parse_reclaim(dry_run) == 3145728
    assert parse_reclaim("destroy\ttank/tm@a\n") is None
    assert parse_reclaim("would reclaim 3M\n") is None


def test_parse_many_groups_snapshots_and_bookmarks_by_dataset() -> None:
    """One batched listing: each asked dataset gets its snapshots (by createtxg) and bookmarks; `-` is unset."""
    output = "tank/b@y\t3\t9\t1\ttag\ntank/a@x\t1\t8\t0\t-\ntank/a#m\t1\t8\t-\t-\ntank/b@w\t2\t4\t-\t-\n"
    found = parse_many(output, [SnapshotProperty.USERREFS], ["zfstm:trigger"], ["tank/a", "tank/b", "tank/c"])
    assert [i.name.full for i in found["tank/b"][0]] == ["tank/b@w", "tank/b@y"]
    assert dict(found["tank/b"][0][1].user_props) == {"zfstm:trigger": "tag"} and found["tank/b"][0][1].userrefs == 1
    assert found["tank/b"][0][0].userrefs is None
    assert [(m.short, m.createtxg) for m in found["tank/a"][1]] == [("m", 8)]
    assert found["tank/c"] == ([], [])


@pytest.mark.parametrize(
    "line", ["tank/other@x\t1\t2\t-\n", "tank/a@x\t1\t2\n", "tank/a@x\tg\t2\t-\n", "tank/a#m\t1\tt\t-\n"]
)
def test_parse_many_refuses_foreign_datasets_and_bad_lines(line: str) -> None:
    """A line of a dataset not asked for, a short line or a non-number is a ZfsError, never a wrong model."""
    with pytest.raises(ZfsError):
        parse_many(line, [], ["zfstm:trigger"], ["tank/a"])


def test_parse_get_many() -> None:
    """name, property, value, source lines: unset (value and source `-`) is None, the source is kept."""
    found = parse_get_many("tank/a\twritten\t0\t-\ntank/a\tzfstm:x\t-\t-\ntank/b\tzfstm:x\tyes\tlocal\n")
    assert found == {"tank/a": {"written": ("0", "-"), "zfstm:x": (None, "-")}, "tank/b": {"zfstm:x": ("yes", "local")}}
    with pytest.raises(ZfsError):
        parse_get_many("tank/a\twritten\t0\n")
