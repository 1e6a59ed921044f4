"""Rule 2b: a session end after the completion ends the quiet period at once, and overrides nothing else."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.timemachine.fixtures import NOW
from tests.unit.timemachine.strategies import any_observations
from zfstm.timemachine.detector import ActivityState, DetectorSettings, Observations, detect

S = timedelta(seconds=1)
M = timedelta(minutes=1)
DONE = NOW - 30 * S  # completed 30 s ago: far inside the 10 min quiet period
ENDED = NOW - 2 * S


def base(**changes: Any) -> Observations:
    obs = Observations(
        NOW,
        latest_completion=DONE,
        newest_band_mtime=DONE - S,
        open_sessions=0,
        written_bytes=90 << 20,
        previous_written_bytes=10 << 20,
        session_ended_at=ENDED,
    )
    return attrs.evolve(obs, **changes)


def test_a_session_end_after_the_completion_is_completed_and_quiet() -> None:
    activity = detect(base())
    assert activity.state is ActivityState.COMPLETED_AND_QUIET
    assert "session ended" in activity.reason


def test_without_the_session_end_the_quiet_period_still_rules() -> None:
    assert detect(base(session_ended_at=None)).state is ActivityState.IN_PROGRESS


def test_it_needs_a_known_zero_of_open_sessions() -> None:
    assert detect(base(open_sessions=1)).state is ActivityState.IN_PROGRESS
    assert detect(base(open_sessions=None)).state is ActivityState.IN_PROGRESS


def test_a_session_that_ended_before_the_completion_says_nothing() -> None:
    assert detect(base(session_ended_at=DONE - 10 * M)).state is ActivityState.IN_PROGRESS


def test_bands_newer_than_the_completion_still_mean_an_unfinished_backup() -> None:
    activity = detect(base(newest_band_mtime=DONE + 11 * M, now=DONE + 12 * M, session_ended_at=DONE + 12 * M))
    assert activity.state is ActivityState.IN_PROGRESS


def test_an_incomplete_bundle_and_a_wrong_clock_still_win() -> None:
    assert detect(base(incomplete_bundle=True)).state is ActivityState.IN_PROGRESS
    future = NOW + timedelta(hours=1)
    assert (
        detect(base(latest_completion=future, session_ended_at=future)).state is not ActivityState.COMPLETED_AND_QUIET
    )


@given(any_observations, st.integers(-3600, 3600))
def test_a_session_end_only_ever_turns_in_progress_into_completed(obs: Observations, offset: int) -> None:
    """Adding a session end never produces idle or unknown from something else, and never completes a share with
    an open session, an .incomplete bundle or no completion."""
    without = detect(obs)
    withit = detect(attrs.evolve(obs, session_ended_at=NOW + timedelta(seconds=offset)))
    if withit.state != without.state:
        assert withit.state is ActivityState.COMPLETED_AND_QUIET
        assert obs.open_sessions == 0 and not obs.incomplete_bundle and obs.latest_completion is not None


def test_default_settings_are_used() -> None:
    assert detect(base(), DetectorSettings()).state is ActivityState.COMPLETED_AND_QUIET
