"""The volume detector: writes seen in ``written`` or the target's counter keep it in progress; quiet for the quiet
period makes it completed, dated by the first look that saw it still."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from zfstm.timemachine.detector import ActivityState, DetectorSettings
from zfstm.volume.detector import VolumeLook, detect_volume, next_quiet_since

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SETTINGS = DetectorSettings(quiet_period=timedelta(minutes=10), written_noise_bytes=1024)


def test_nothing_known_is_unknown() -> None:
    """Without written and without a counter there is nothing to judge by."""
    assert detect_volume(VolumeLook(), SETTINGS, NOW).state is ActivityState.UNKNOWN


def test_first_look_starts_the_quiet_period() -> None:
    """The first look cannot know for how long the volume has been still: in progress, quiet from now on."""
    look = VolumeLook(written=5000)
    assert detect_volume(look, SETTINGS, NOW).state is ActivityState.IN_PROGRESS
    assert next_quiet_since(look, SETTINGS, NOW) == NOW


def test_growth_beyond_noise_is_in_progress_and_restarts_the_clock() -> None:
    """``written`` grown by more than the noise allowance means the Mac is writing."""
    look = VolumeLook(written=10_000, previous_written=1_000, quiet_since=NOW - timedelta(hours=1))
    activity = detect_volume(look, SETTINGS, NOW)
    assert activity.state is ActivityState.IN_PROGRESS
    assert "9000 bytes" in activity.reason
    assert next_quiet_since(look, SETTINGS, NOW) == NOW


def test_the_target_counter_alone_shows_writes() -> None:
    """LIO's write counter moving is a write even when ``written`` is unknown (a foreign snapshot reset it)."""
    look = VolumeLook(writes=7, previous_writes=5, quiet_since=NOW - timedelta(hours=1))
    assert detect_volume(look, SETTINGS, NOW).state is ActivityState.IN_PROGRESS


def test_quiet_long_enough_is_completed_at_quiet_since() -> None:
    """Still for the quiet period: completed and quiet, the completion dated when the stillness was first seen."""
    since = NOW - timedelta(minutes=11)
    activity = detect_volume(VolumeLook(written=10, previous_written=10, quiet_since=since), SETTINGS, NOW)
    assert activity.state is ActivityState.COMPLETED_AND_QUIET
    assert activity.completed_at == since


@given(st.integers(0, 10**12), st.integers(0, 10**12), st.integers(0, 3600))
def test_never_completed_while_growing(before: int, after: int, quiet: int) -> None:
    """Whatever the quiet_since, growth above the noise is never judged completed (a false "completed" could make
    a half-written volume known-good)."""
    look = VolumeLook(written=after, previous_written=before, quiet_since=NOW - timedelta(seconds=quiet))
    state = detect_volume(look, SETTINGS, NOW).state
    if after - before > SETTINGS.written_noise_bytes:
        assert state is ActivityState.IN_PROGRESS
