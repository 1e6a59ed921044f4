"""When the daemon looks at a target because of events: coalescing, retries and the rate limit, as pure values.

Times are the daemon's monotonic clock in seconds. A session end makes a target *pending*: it is looked at once
``settle`` has passed (further events meanwhile join the same look), but never sooner than ``min_interval`` after
the last snapshot an event brought about. A look that finds the backup still in progress (the session's server
process has not gone yet) is repeated with a growing pause until ``retry_for`` has passed; after that the
quiet-period detector of the regular ticks takes over, exactly as without events.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from zfstm.events.model import EventsConfig

#: The longest pause between two retries (seconds).
MAX_RETRY_PAUSE = 10.0


@attrs.frozen
class Pending:
    """A look to make at ``due``; retries allowed until ``until``; ``attempts`` made so far."""

    due: float
    until: float
    attempts: int = 0


def _frozen(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(value))


@attrs.frozen
class Schedule:
    """Pending looks per target, and when each target's last event-triggered snapshot was taken."""

    pending: Mapping[str, Pending] = attrs.field(factory=dict, converter=_frozen)
    last_taken: Mapping[str, float] = attrs.field(factory=dict, converter=_frozen)


def note_session_end(schedule: Schedule, target: str, now: float, settings: EventsConfig) -> Schedule:
    """``target``'s session ended at ``now``: make a look pending (or let the pending one cover it)."""
    settle, retry = settings.settle.total_seconds(), settings.retry_for.total_seconds()
    earliest = schedule.last_taken.get(target, float("-inf")) + settings.min_interval.total_seconds()
    due = max(now + settle, earliest)
    current = schedule.pending.get(target)
    if current is not None:  # a burst: the look already pending covers this event too (never later than it was)
        due = max(min(current.due, now + settle), earliest)
        pending = Pending(due, max(current.until, due + retry), current.attempts)
    else:
        pending = Pending(due, due + retry)
    return attrs.evolve(schedule, pending={**schedule.pending, target: pending})


def due_targets(schedule: Schedule, now: float) -> tuple[str, ...]:
    """The targets to look at now, sorted."""
    return tuple(sorted(target for target, pending in schedule.pending.items() if pending.due <= now))


def next_due(schedule: Schedule) -> float | None:
    """When the next pending look is due (None: nothing pending)."""
    return min((pending.due for pending in schedule.pending.values()), default=None)


def after_look(
    schedule: Schedule, target: str, now: float, *, took: bool, still_active: bool, settings: EventsConfig
) -> Schedule:
    """The schedule after a look at ``target``: done when it took a snapshot or found nothing to wait for;
    retried (with a pause doubling from ``settle`` up to 10 s) while the backup still looks active."""
    pending = {name: value for name, value in schedule.pending.items() if name != target}
    last_taken = dict(schedule.last_taken)
    current = schedule.pending.get(target)
    if took:
        last_taken[target] = now
    elif still_active and current is not None:
        pause = min(MAX_RETRY_PAUSE, max(settings.settle.total_seconds(), 0.25) * 2**current.attempts)
        if now + pause <= current.until:
            pending[target] = Pending(now + pause, current.until, current.attempts + 1)
    return Schedule(pending, last_taken)
