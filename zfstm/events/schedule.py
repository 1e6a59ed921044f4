"""When the daemon looks at a target because of events: coalescing, retries and the rate limit, as pure values.

Times are the daemon's monotonic clock in seconds. A session end makes a target *pending*: it is looked at once
``settle`` has passed (further events meanwhile join the same look), but never sooner than ``min_interval`` after
the last snapshot an event brought about. A look that finds the backup still in progress (the session's server
process has not gone yet) is repeated with a growing pause until ``retry_for`` has passed; after that the
quiet-period detector of the regular ticks takes over, exactly as without events.

A new SnapshotHistory.plist (file events) starts a *watch*: the daemon counts the share's open file-server sessions
every ``POLL`` seconds (no ZFS, no tick) for ``retry_for``. The moment it has seen a session open and then none is
a session end it saw itself, the same evidence a logout event gives. A watch that never sees a session open (the
session ended before the first count), or cannot count them, ends without one: the quiet period decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from zfstm.events.model import EventsConfig

#: The longest pause between two retries (seconds).
MAX_RETRY_PAUSE = 10.0
#: Seconds between two session counts while a watch runs.
POLL = 0.5


@attrs.frozen
class Pending:
    """A look to make at ``due``; retries allowed until ``until``; ``attempts`` made so far."""

    due: float
    until: float
    attempts: int = 0


def _frozen(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(value))


@attrs.frozen
class Watch:
    """Sessions to count at ``due`` until ``until``; ``seen_open`` once a count found one open."""

    due: float
    until: float
    seen_open: bool = False


@attrs.frozen
class Schedule:
    """Pending looks per target, when each target's last event-triggered snapshot was taken, and the running
    watches for a session end after a new history."""

    pending: Mapping[str, Pending] = attrs.field(factory=dict, converter=_frozen)
    last_taken: Mapping[str, float] = attrs.field(factory=dict, converter=_frozen)
    watches: Mapping[str, Watch] = attrs.field(factory=dict, converter=_frozen)


def note_session_end(schedule: Schedule, target: str, now: float, settings: EventsConfig) -> Schedule:
    """``target``'s session ended at ``now``: make a look pending (or let the pending one cover it); a watch for
    that session end has nothing left to wait for."""
    settle, retry = settings.settle.total_seconds(), settings.retry_for.total_seconds()
    earliest = schedule.last_taken.get(target, float("-inf")) + settings.min_interval.total_seconds()
    due = max(now + settle, earliest)
    current = schedule.pending.get(target)
    if current is not None:  # a burst: the look already pending covers this event too (never later than it was)
        due = max(min(current.due, now + settle), earliest)
        pending = Pending(due, max(current.until, due + retry), current.attempts)
    else:
        pending = Pending(due, due + retry)
    watches = {name: watch for name, watch in schedule.watches.items() if name != target}
    return attrs.evolve(schedule, pending={**schedule.pending, target: pending}, watches=watches)


def note_history(schedule: Schedule, target: str, now: float, settings: EventsConfig) -> Schedule:
    """``target``'s SnapshotHistory.plist was written at ``now``: count its sessions until they end (or a running
    watch goes on, from now, keeping what it has seen)."""
    current = schedule.watches.get(target)
    watch = Watch(now, now + settings.retry_for.total_seconds(), current.seen_open if current else False)
    return attrs.evolve(schedule, watches={**schedule.watches, target: watch})


def watches_due(schedule: Schedule, now: float) -> tuple[str, ...]:
    """The targets whose sessions to count now, sorted."""
    return tuple(sorted(target for target, watch in schedule.watches.items() if watch.due <= now))


def after_count(
    schedule: Schedule, target: str, count: int | None, now: float, settings: EventsConfig
) -> tuple[Schedule, bool]:
    """The schedule after counting ``target``'s open sessions (None: cannot tell), and whether that count is the
    session end: none open after one was seen. A session end makes a look pending (:func:`note_session_end`)."""
    watch = schedule.watches.get(target)
    watches = {name: value for name, value in schedule.watches.items() if name != target}
    if watch is None or count is None:
        return attrs.evolve(schedule, watches=watches), False
    if count == 0 and watch.seen_open:
        return note_session_end(attrs.evolve(schedule, watches=watches), target, now, settings), True
    if now + POLL <= watch.until:
        watches[target] = Watch(now + POLL, watch.until, watch.seen_open or count > 0)
    return attrs.evolve(schedule, watches=watches), False


def due_targets(schedule: Schedule, now: float) -> tuple[str, ...]:
    """The targets to look at now, sorted."""
    return tuple(sorted(target for target, pending in schedule.pending.items() if pending.due <= now))


def next_due(schedule: Schedule) -> float | None:
    """When the next pending look or session count is due (None: nothing pending)."""
    times = [pending.due for pending in schedule.pending.values()] + [w.due for w in schedule.watches.values()]
    return min(times, default=None)


def after_look(
    schedule: Schedule, target: str, now: float, *, took: bool, still_active: bool, settings: EventsConfig
) -> Schedule:
    """The schedule after a look at ``target``: done when it took a snapshot (a watch for the session end too:
    the backup is in the snapshot) or found nothing to wait for; retried (with a pause doubling from ``settle`` up
    to 10 s) while the backup still looks active."""
    pending = {name: value for name, value in schedule.pending.items() if name != target}
    last_taken = dict(schedule.last_taken)
    current = schedule.pending.get(target)
    if took:
        last_taken[target] = now
    elif still_active and current is not None:
        pause = min(MAX_RETRY_PAUSE, max(settings.settle.total_seconds(), 0.25) * 2**current.attempts)
        if now + pause <= current.until:
            pending[target] = Pending(now + pause, current.until, current.attempts + 1)
    watches = {name: watch for name, watch in schedule.watches.items() if name != target or not took}
    return Schedule(pending, last_taken, watches)
