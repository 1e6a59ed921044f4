"""Coalescing, retries and the rate limit of event-triggered looks, as properties over any event sequence."""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from zfstm.events.model import EventsConfig
from zfstm.events.schedule import (
    MAX_RETRY_PAUSE,
    Schedule,
    after_count,
    after_look,
    due_targets,
    next_due,
    note_history,
    note_session_end,
    watches_due,
)

SETTINGS = EventsConfig(settle=timedelta(seconds=1), min_interval=timedelta(minutes=5), retry_for=timedelta(minutes=2))

steps = st.lists(
    st.tuples(
        st.floats(0, 400, allow_nan=False),  # time advances by this much
        st.sampled_from(["a", "b"]),
        st.sampled_from(["event", "look-took", "look-active", "look-done"]),
    ),
    max_size=60,
)


def simulate(plan: list[tuple[float, str, str]]) -> list[tuple[float, str]]:
    """Run the plan; looks happen only when due (as the daemon does). Returns the snapshots taken (time, target)."""
    schedule, now, taken = Schedule(), 0.0, []
    for advance, target, what in plan:
        now += advance
        if what == "event":
            schedule = note_session_end(schedule, target, now, SETTINGS)
            continue
        if target not in due_targets(schedule, now):
            continue
        took = what == "look-took"
        schedule = after_look(schedule, target, now, took=took, still_active=what == "look-active", settings=SETTINGS)
        if took:
            taken.append((now, target))
    return taken


@given(steps)
def test_event_snapshots_of_one_target_are_min_interval_apart(plan: list[tuple[float, str, str]]) -> None:
    taken = simulate(plan)
    for target in ("a", "b"):
        times = [t for t, name in taken if name == target]
        assert all(later - earlier >= 300 for earlier, later in itertools.pairwise(times))


@given(st.lists(st.floats(0, 0.5, allow_nan=False), min_size=1, max_size=200))
def test_a_storm_is_one_pending_look(gaps: list[float]) -> None:
    schedule, now = Schedule(), 0.0
    for gap in gaps:
        now += gap
        schedule = note_session_end(schedule, "a", now, SETTINGS)
    assert list(schedule.pending) == ["a"]
    due = next_due(schedule)
    assert due is not None and due <= gaps[0] + 1.0  # a storm never postpones the first look


def test_retries_pause_more_and_end() -> None:
    schedule = note_session_end(Schedule(), "a", 0.0, SETTINGS)
    now, pauses = 1.0, []
    while "a" in schedule.pending:
        schedule = after_look(schedule, "a", now, took=False, still_active=True, settings=SETTINGS)
        due = next_due(schedule)
        if due is None:
            break
        pauses.append(due - now)
        now = due
    assert pauses == sorted(pauses) and max(pauses) <= MAX_RETRY_PAUSE
    assert now <= 1.0 + 120


def test_a_look_that_finds_nothing_to_wait_for_is_done() -> None:
    schedule = note_session_end(Schedule(), "a", 0.0, SETTINGS)
    assert due_targets(schedule, 0.5) == ()
    assert due_targets(schedule, 1.0) == ("a",)
    schedule = after_look(schedule, "a", 1.0, took=False, still_active=False, settings=SETTINGS)
    assert schedule.pending == {} and next_due(schedule) is None


def test_after_a_snapshot_the_next_session_end_waits_for_min_interval() -> None:
    schedule = note_session_end(Schedule(), "a", 0.0, SETTINGS)
    schedule = after_look(schedule, "a", 1.0, took=True, still_active=False, settings=SETTINGS)
    schedule = note_session_end(schedule, "a", 10.0, SETTINGS)
    assert next_due(schedule) == 301.0


# -- watches: the session end after a new history, seen by counting sessions --------------------------------------


def count_through(counts: list[int | None]) -> tuple[Schedule, list[bool], float]:
    """A history at 0, then the counts at each due time; the schedule, which count ended a session, the time."""
    schedule, now, ends = note_history(Schedule(), "a", 0.0, SETTINGS), 0.0, []
    for count in counts:
        assert watches_due(schedule, now) == ("a",)
        schedule, ended = after_count(schedule, "a", count, now, SETTINGS)
        ends.append(ended)
        due = next_due(schedule)
        if due is None or ended:
            break
        now = due
    return schedule, ends, now


def test_a_session_seen_open_and_then_gone_is_a_session_end_and_a_look() -> None:
    schedule, ends, now = count_through([1, 1, 0])
    assert ends == [False, False, True]
    assert not schedule.watches
    assert "a" in schedule.pending and schedule.pending["a"].due == now + SETTINGS.settle.total_seconds()


def test_no_session_seen_open_is_no_session_end() -> None:
    schedule, ends, now = count_through([0] * 1000)
    assert not any(ends)
    assert not schedule.watches and not schedule.pending
    assert now <= SETTINGS.retry_for.total_seconds()


def test_sessions_that_cannot_be_counted_end_the_watch_without_a_session_end() -> None:
    schedule, ends, _ = count_through([1, None])
    assert ends == [False, False]
    assert not schedule.watches and not schedule.pending


def test_a_session_still_open_when_the_watch_runs_out_is_left_to_the_quiet_period() -> None:
    schedule, ends, _ = count_through([1] * 1000)
    assert not any(ends) and not schedule.watches and not schedule.pending


def test_a_second_history_keeps_what_the_watch_has_seen() -> None:
    schedule, _ = after_count(note_history(Schedule(), "a", 0.0, SETTINGS), "a", 2, 0.0, SETTINGS)
    schedule = note_history(schedule, "a", 5.0, SETTINGS)
    assert schedule.watches["a"].seen_open and schedule.watches["a"].due == 5.0
    schedule, ended = after_count(schedule, "a", 0, 5.0, SETTINGS)
    assert ended


def test_a_session_end_from_the_server_ends_the_watch() -> None:
    """netatalk's logout (or Samba's notice) came first: no second session end from the count, no second look."""
    schedule = note_session_end(note_history(Schedule(), "a", 0.0, SETTINGS), "a", 1.0, SETTINGS)
    assert not schedule.watches and "a" in schedule.pending


def test_a_snapshot_taken_ends_the_watch() -> None:
    """The history event read after the session end's look had already taken the snapshot: nothing to wait for."""
    schedule = note_session_end(Schedule(), "a", 0.0, SETTINGS)
    schedule = note_history(schedule, "a", 0.5, SETTINGS)
    schedule = after_look(schedule, "a", 1.0, took=True, still_active=False, settings=SETTINGS)
    assert not schedule.watches
    kept = after_look(
        note_history(Schedule(), "a", 0.0, SETTINGS), "a", 1.0, took=False, still_active=False, settings=SETTINGS
    )
    assert "a" in kept.watches
