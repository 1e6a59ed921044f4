"""The backup-activity detector: its documented rules as examples, and the invariants as properties."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.unit.timemachine.fixtures import NOW
from tests.unit.timemachine.strategies import any_observations as observations_strategy
from tests.unit.timemachine.strategies import settled_observations
from zfstm.timemachine.detector import ActivityState, DetectorSettings, Observations, detect

SETTINGS = DetectorSettings()
STRICT = DetectorSettings(completion_slack=timedelta(0))
settings_strategy = st.builds(
    DetectorSettings,
    quiet_period=st.integers(0, 7200).map(lambda s: timedelta(seconds=s)),
    completion_slack=st.integers(0, 3600).map(lambda s: timedelta(seconds=s)),
    clock_skew_tolerance=st.integers(0, 3600).map(lambda s: timedelta(seconds=s)),
    written_noise_bytes=st.integers(0, 2**24),
)
later = st.integers(min_value=0, max_value=30 * 86400).map(lambda s: timedelta(seconds=s))
H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("obs", "state", "words"),
    [
        (Observations(NOW, NOW - H, NOW - H - M, incomplete_bundle=True), ActivityState.IN_PROGRESS, ".incomplete"),
        (Observations(NOW, NOW - H, NOW - H - M, open_sessions=1), ActivityState.IN_PROGRESS, "session"),
        (
            Observations(NOW, NOW - H, NOW - H - M, written_bytes=50 << 20, previous_written_bytes=10 << 20),
            ActivityState.IN_PROGRESS,
            "bytes written",
        ),
        (Observations(NOW, NOW + H, NOW - H), ActivityState.UNKNOWN, "clock"),
        (Observations(NOW, NOW - H, NOW - 2 * M), ActivityState.IN_PROGRESS, "bands written"),
        (Observations(NOW, NOW - 3 * H, NOW - H), ActivityState.IDLE, "no completed backup covers"),
        (Observations(NOW, None, NOW - H), ActivityState.IDLE, "no completed backup"),
        (Observations(NOW, None, None), ActivityState.UNKNOWN, "nothing to judge"),
        (Observations(NOW, NOW - H, None), ActivityState.UNKNOWN, "no band mtimes"),
        (Observations(NOW, NOW - 2 * M, NOW - 3 * M), ActivityState.IN_PROGRESS, "waiting"),
        (Observations(NOW, NOW - H, NOW - H + 5 * M), ActivityState.COMPLETED_AND_QUIET, "quiet for"),
        (Observations(NOW, NOW - H, NOW - H - M), ActivityState.COMPLETED_AND_QUIET, "completed at"),
        (
            Observations(NOW, NOW - H, NOW - H - M, open_sessions=0, written_bytes=5, previous_written_bytes=4),
            ActivityState.COMPLETED_AND_QUIET,
            "quiet",
        ),
    ],
)
def test_documented_rules(obs: Observations, state: ActivityState, words: str) -> None:
    """Each rule of the module docstring yields its state, with a reason saying so."""
    activity = detect(obs, SETTINGS)
    assert activity.state is state
    assert words in activity.reason


@given(observations_strategy, settings_strategy)
def test_total_and_explained(obs: Observations, settings: DetectorSettings) -> None:
    """The detector answers every combination of signals, always with a reason, echoing the times it used."""
    activity = detect(obs, settings)
    assert activity.reason
    assert activity.completed_at == obs.latest_completion
    assert activity.last_write_at == obs.newest_band_mtime


@given(observations_strategy, settings_strategy)
def test_incomplete_bundle_is_in_progress(obs: Observations, settings: DetectorSettings) -> None:
    """An .incomplete bundle always means in progress, so never completed and quiet."""
    assert detect(attrs.evolve(obs, incomplete_bundle=True), settings).state is ActivityState.IN_PROGRESS


@given(observations_strategy, settings_strategy, st.integers(1, 50))
def test_open_sessions_are_in_progress(obs: Observations, settings: DetectorSettings, sessions: int) -> None:
    """Open file-server sessions (the volume is mounted) always mean in progress."""
    assert detect(attrs.evolve(obs, open_sessions=sessions), settings).state is ActivityState.IN_PROGRESS


positive = st.integers(min_value=1, max_value=5 * 86400).map(lambda s: timedelta(seconds=s))


@given(observations_strategy, positive)
def test_band_writes_after_completion_never_quiet(obs: Observations, gap: timedelta) -> None:
    """With no slack, bands written after the latest completion (or with no completion) are never completed."""
    if obs.latest_completion is not None:
        obs = attrs.evolve(obs, newest_band_mtime=obs.latest_completion + gap)
    else:
        obs = attrs.evolve(obs, newest_band_mtime=obs.now - gap)
    assert detect(obs, STRICT).state is not ActivityState.COMPLETED_AND_QUIET


@given(observations_strategy, settings_strategy, positive)
def test_band_writes_beyond_slack_never_quiet(obs: Observations, settings: DetectorSettings, gap: timedelta) -> None:
    """Bands written later than completion plus the slack are never completed and quiet."""
    assume(obs.latest_completion is not None)
    assert obs.latest_completion is not None
    obs = attrs.evolve(obs, newest_band_mtime=obs.latest_completion + settings.completion_slack + gap)
    assert detect(obs, settings).state is not ActivityState.COMPLETED_AND_QUIET


@given(observations_strategy, settings_strategy)
def test_no_completion_date_never_completed(obs: Observations, settings: DetectorSettings) -> None:
    """Whatever else is known or unknown, without a completion date the answer is never completed and quiet."""
    assert detect(attrs.evolve(obs, latest_completion=None), settings).state is not ActivityState.COMPLETED_AND_QUIET


@given(observations_strategy, settings_strategy)
def test_completed_means_quiet_for_the_period(obs: Observations, settings: DetectorSettings) -> None:
    """Completed and quiet implies nothing was written (completion or band) within the quiet period."""
    activity = detect(obs, settings)
    if activity.state is ActivityState.COMPLETED_AND_QUIET:
        assert obs.latest_completion is not None
        assert obs.newest_band_mtime is not None
        assert obs.now - max(obs.latest_completion, obs.newest_band_mtime) >= settings.quiet_period


@given(observations_strategy, settings_strategy, later)
def test_quiet_is_monotonic_in_time(obs: Observations, settings: DetectorSettings, wait: timedelta) -> None:
    """Completed and quiet at t stays completed and quiet at any later t' when nothing new was written."""
    if detect(obs, settings).state is ActivityState.COMPLETED_AND_QUIET:
        assert detect(attrs.evolve(obs, now=obs.now + wait), settings).state is ActivityState.COMPLETED_AND_QUIET


@given(observations_strategy, settings_strategy, later)
def test_idle_stays_idle_in_time(obs: Observations, settings: DetectorSettings, wait: timedelta) -> None:
    """An interrupted backup does not turn into a completed one by waiting: idle at t is idle at t' > t."""
    if detect(obs, settings).state is ActivityState.IDLE:
        assert detect(attrs.evolve(obs, now=obs.now + wait), settings).state is ActivityState.IDLE


@given(observations_strategy, settings_strategy)
def test_benign_knowledge_equals_no_knowledge(obs: Observations, settings: DetectorSettings) -> None:
    """Knowing there are no sessions and no growth in written gives the same answer as not knowing them."""
    unknown = attrs.evolve(obs, open_sessions=None, written_bytes=None, previous_written_bytes=None)
    calm = attrs.evolve(obs, open_sessions=0, written_bytes=7, previous_written_bytes=7)
    assert detect(unknown, settings) == detect(calm, settings)


@given(observations_strategy, settings_strategy)
def test_written_shrinking_is_ignored(obs: Observations, settings: DetectorSettings) -> None:
    """written smaller than before (a snapshot reset it) is not evidence of activity."""
    shrunk = attrs.evolve(obs, written_bytes=0, previous_written_bytes=10**9)
    unknown = attrs.evolve(obs, written_bytes=None, previous_written_bytes=None)
    assert detect(shrunk, settings) == detect(unknown, settings)


def test_settings_refuse_negative_values() -> None:
    """Negative periods or noise allowances are configuration errors, caught when the settings are built."""
    with pytest.raises(ValueError, match="quiet_period"):
        DetectorSettings(quiet_period=-M)
    with pytest.raises(ValueError, match="written_noise_bytes"):
        DetectorSettings(written_noise_bytes=-1)


@given(settled_observations(), settings_strategy)  # shaped like a finished backup: few inputs filtered out
def test_completion_plus_quiet_is_enough(obs: Observations, settings: DetectorSettings) -> None:
    """A finished backup (bands within the slack, no contrary signal) is completed and quiet once the period passed."""
    assume(obs.latest_completion is not None and obs.newest_band_mtime is not None)
    assert obs.latest_completion is not None
    assert obs.newest_band_mtime is not None
    assume(not obs.incomplete_bundle and not obs.open_sessions)
    assume(obs.written_bytes is None or obs.written_bytes == obs.previous_written_bytes)
    assume(obs.newest_band_mtime <= obs.latest_completion + settings.completion_slack)
    assume(obs.latest_completion <= obs.now)
    later_now = max(obs.latest_completion, obs.newest_band_mtime) + settings.quiet_period
    assert detect(attrs.evolve(obs, now=max(later_now, obs.now)), settings).state is ActivityState.COMPLETED_AND_QUIET


def test_naive_datetimes_are_refused() -> None:
    """A naive "now" or date is refused when the observations are built, not deep inside a comparison."""
    with pytest.raises(ValueError, match="now"):
        Observations(now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="latest_completion"):
        Observations(now=NOW, latest_completion=NOW.replace(tzinfo=None))
