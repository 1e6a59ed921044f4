"""Name validation follows ZFS's zfs_namecheck.c rules and says what is wrong."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.zfs.strategies import FORBIDDEN, components, dataset_names, snapshot_names
from zfstm.errors import InvalidName
from zfstm.zfs.names import (
    MAX_NAME_LEN,
    DatasetName,
    HoldTag,
    SnapshotName,
    parse_name,
    validate_user_property,
)


@given(snapshot_names())
def test_snapshot_round_trip(name: SnapshotName) -> None:
    """Parsing a snapshot's full name gives back the same dataset and short name."""
    parsed = SnapshotName.parse(name.full)
    assert parsed == name
    assert parsed.dataset == name.dataset and parsed.short == name.short
    assert parse_name(name.full) == name


@given(dataset_names())
def test_dataset_round_trip_and_parent(name: DatasetName) -> None:
    """A dataset parses back to itself, and its parent plus basename rebuild it."""
    assert DatasetName.parse(name.full) == name
    assert parse_name(name.full) == name
    if name.parent is not None:
        assert name.parent.child(name.basename) == name
        assert name.parent.is_ancestor_of(name)
    else:
        assert name.full == name.pool


@given(dataset_names(), components, st.sampled_from(FORBIDDEN), st.integers(min_value=0, max_value=20))
def test_forbidden_character_is_named_in_the_error(dataset: DatasetName, short: str, bad: str, position: int) -> None:
    """Any character outside [A-Za-z0-9_.: -] makes the name invalid and the message shows that character."""
    at = min(position, len(short))
    with pytest.raises(InvalidName) as error:
        dataset.snapshot(short[:at] + bad + short[at:])
    assert repr(bad) in str(error.value)


@given(snapshot_names())
def test_second_at_sign_is_refused(name: SnapshotName) -> None:
    """A snapshot name with two '@' is refused."""
    with pytest.raises(InvalidName, match="2 '@'"):
        SnapshotName.parse(name.full + "@again")


@given(st.integers(min_value=1, max_value=300))
def test_length_limit_is_255_characters(length: int) -> None:
    """A full snapshot name of up to 255 characters is valid; 256 or more is refused with the length named."""
    short_len = length - len("tank@")
    if short_len < 1:
        return
    text = "tank@" + "s" * short_len
    if length <= MAX_NAME_LEN:
        assert SnapshotName.parse(text).full == text
    else:
        with pytest.raises(InvalidName, match=f"{length} characters"):
            SnapshotName.parse(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("/tank", "starts with its pool"),
        ("tank/", "empty component"),
        ("tank//a", "empty component"),
        ("tank/./a", "'.'"),
        ("tank/../a", "'..'"),
        ("1tank", "start with a letter"),
        ("mirror/a", "reserved"),
        ("tank/a%b", "'%'"),
        ("tank/a#b", "'#'"),
        ("tank/a@b", "'@'"),
        ("tank" + "/a" * 50, "nested 50 levels"),
    ],
)
def test_invalid_dataset_names_say_why(text: str, fragment: str) -> None:
    """Each broken dataset rule raises InvalidName with a message naming the problem."""
    with pytest.raises(InvalidName, match=None) as error:
        DatasetName(text)
    assert fragment in str(error.value)


@pytest.mark.parametrize("text", ["tank", "tank@", "tank/a@", "@x"])
def test_snapshot_needs_dataset_and_name(text: str) -> None:
    """A snapshot name needs a dataset before and a name after its single '@'."""
    with pytest.raises(InvalidName):
        SnapshotName.parse(text)


def test_valid_edge_names() -> None:
    """Space, colon, dot, dash and underscore are valid, as in ZFS; 49 levels of nesting are fine."""
    assert SnapshotName.parse("tank/Time Machine@2024-05-01T10:00:00Z").short == "2024-05-01T10:00:00Z"
    assert DatasetName("tank" + "/a" * 49).pool == "tank"
    assert DatasetName("a.b_c-d:e").pool == "a.b_c-d:e"


@pytest.mark.parametrize(
    ("tag", "ok"),
    [("keep", True), ("zfstm rollback 2024", True), ("x" * 255, True), ("x" * 256, False), ("", False),
     ("a\tb", False), ("line\n", False), ("-r", False)],
)  # fmt: skip
def test_hold_tags(tag: str, ok: bool) -> None:
    """Hold tags are 1-255 printable characters, not starting with '-'."""
    if ok:
        assert str(HoldTag(tag)) == tag
    else:
        with pytest.raises(InvalidName):
            HoldTag(tag)


@pytest.mark.parametrize(
    ("prop", "ok"),
    [("zfstm:label", True), ("com.example:a-b_c.d+e", True), ("label", False), ("Zfstm:Label", False),
     ("zfstm:a b", False)],
)  # fmt: skip
def test_user_property_names(prop: str, ok: bool) -> None:
    """User property names need a ':' and lower-case letters, digits and ':+._-'."""
    if ok:
        validate_user_property(prop)
    else:
        with pytest.raises(InvalidName):
            validate_user_property(prop)


def test_invalid_name_is_a_value_error() -> None:
    """InvalidName can be caught as ValueError, as library users expect."""
    with pytest.raises(ValueError):
        DatasetName("bad!")
