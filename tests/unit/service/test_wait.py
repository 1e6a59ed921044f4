"""Tests for polling with an injected clock."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.service.fakes import ManualClock


def test_returns_as_soon_as_done_without_sleeping() -> None:
    """A probe that is done at once is called once and nothing sleeps."""
    clock = ManualClock()
    assert clock.waiter().poll(lambda: 7, lambda r: r == 7, timeout=10) == 7
    assert clock.sleeps == []


@given(st.floats(min_value=0, max_value=100), st.floats(min_value=0.01, max_value=10))
def test_never_waits_past_the_timeout_and_checks_at_the_deadline(timeout: float, interval: float) -> None:
    """A probe that never succeeds is retried until the deadline, checked once at it, then its result returned."""
    clock = ManualClock()
    calls: list[float] = []

    def probe() -> str:
        calls.append(clock.now)
        return "no"

    assert clock.waiter(interval).poll(probe, lambda r: r == "yes", timeout) == "no"
    assert clock.now <= timeout + 1e-9
    assert calls[-1] >= timeout - 1e-9
    assert all(s <= interval for s in clock.sleeps)


def test_succeeds_on_a_later_try() -> None:
    """The result of the first successful probe is returned."""
    clock = ManualClock()
    answers = iter([1, 2, 3, 4])
    assert clock.waiter().poll(lambda: next(answers), lambda r: r >= 3, timeout=10) == 3
    assert clock.sleeps == [1.0, 1.0]
