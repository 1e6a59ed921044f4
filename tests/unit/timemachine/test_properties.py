"""User properties on snapshots: valid for ZFS, bounded, and readable back into the same facts."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.timemachine.fixtures import NOW
from tests.unit.timemachine.strategies import activities, moments
from zfstm.timemachine.detector import Activity, ActivityState
from zfstm.timemachine.due import Trigger
from zfstm.timemachine.machineid import Verdict
from zfstm.timemachine.properties import (
    MAX_VALUE_BYTES,
    TM_VERIFICATION,
    clip_value,
    is_user_property_name,
    record_from_properties,
    snapshot_properties,
)

huge_activities = st.builds(
    Activity,
    state=st.sampled_from(ActivityState),
    reason=st.text(min_size=0, max_size=20) | st.text(min_size=3000, max_size=9000),
    completed_at=st.none() | moments,
    last_write_at=st.none() | moments,
)


@given(huge_activities, st.sampled_from(Verdict), st.none() | moments, st.none() | st.sampled_from(Trigger))
def test_keys_and_values_are_valid_for_zfs(
    activity: Activity, verdict: Verdict, verified: datetime | None, trigger: Trigger | None
) -> None:
    """Every key is a valid ZFS user property name and every value is non-empty and at most 8191 bytes."""
    properties = snapshot_properties(activity=activity, verdict=verdict, verification_date=verified, trigger=trigger)
    for key, value in properties.items():
        assert is_user_property_name(key), key
        assert key.startswith("zfstm:")
        assert 0 < len(value.encode()) <= MAX_VALUE_BYTES
    assert properties["zfstm:managed"] == "yes"
    assert properties[TM_VERIFICATION] == verdict.value


@given(activities, st.sampled_from(Verdict))
def test_round_trip(activity: Activity, verdict: Verdict) -> None:
    """What zfstm writes reads back as the same activity, completion time and verdict; a volume's
    not-applicable verdict counts like ok (its quiet writes are the whole evidence)."""
    record = record_from_properties("s", NOW, snapshot_properties(activity=activity, verdict=verdict))
    assert record.managed
    assert record.activity is activity.state
    assert record.verdict is verdict
    assert record.tm_completed == (None if activity.completed_at is None else activity.completed_at)
    assert record.after_verified_completion == (
        activity.state is ActivityState.COMPLETED_AND_QUIET
        and verdict in (Verdict.OK, Verdict.NOT_APPLICABLE)
        and activity.completed_at is not None
    )


def test_failed_verification_marks_the_snapshot() -> None:
    """A snapshot taken while Time Machine reports a failed verification carries zfstm:tm-verification=failed."""
    activity = Activity(ActivityState.COMPLETED_AND_QUIET, "done", NOW, NOW)
    properties = snapshot_properties(activity=activity, verdict=Verdict.FAILED)
    assert properties[TM_VERIFICATION] == "failed"
    assert not record_from_properties("s", NOW, properties).after_verified_completion


@given(st.dictionaries(st.text(max_size=30), st.text(max_size=30)))
def test_foreign_or_damaged_properties_are_never_good(properties: dict[str, str]) -> None:
    """Properties zfstm did not write (or that were edited) read as unknown, never as a verified backup."""
    record = record_from_properties("s", NOW, properties)
    if record.after_verified_completion:
        assert properties["zfstm:managed"] == "yes"
        assert properties["zfstm:tm-verification"] == "ok"
        assert properties["zfstm:activity"] == "completed_and_quiet"


def test_user_property_names() -> None:
    """ZFS user property names: lowercase letters, digits, -_.: and at least one colon, at most 255 bytes."""
    for good in ("zfstm:managed", "com.example:a-b_c.d", ":", "a:b:c"):
        assert is_user_property_name(good)
    for bad in ("managed", "Zfstm:x", "zfstm:a b", "zfstm:é", "", "zfstm:" + "a" * 250):
        assert not is_user_property_name(bad)


@given(st.text(max_size=200), st.integers(min_value=4, max_value=300))
def test_clip_value(text: str, limit: int) -> None:
    """Clipped values are non-empty, valid UTF-8, free of control characters and within the byte limit."""
    clipped = clip_value(text, limit)
    assert 0 < len(clipped.encode()) <= limit
    assert not any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in clipped)


def test_clip_value_examples() -> None:
    """Short values pass unchanged, long ones end in an ellipsis, newlines become spaces, empty becomes none."""
    assert clip_value("ok") == "ok"
    assert clip_value("a\nb\tc") == "a b c"
    assert clip_value("") == "none"
    assert clip_value("é" * 10, 8) == "éé..."
    assert clip_value("\udcff") == "?"
