"""Is a snapshot due now? A pure decision from the detector's activity, the last snapshot and ``written``.

Rules, first match wins:

1. no zfstm snapshot yet: take one (trigger ``first``) unless a backup is in progress;
2. the last snapshot is dated after now: wait (the clock looks wrong; refuse rather than guess);
3. the maximum interval since the last snapshot passed: take one (``max-interval``), even while a backup is in
   progress; such a snapshot is crash-consistent and its properties say ``in_progress``, so it never becomes
   known-good. Without this a stuck session or a stale ``.incomplete`` bundle would stop snapshots for good;
4. the share is completed and quiet and its completion is newer than the last snapshot's: take one
   (``completion``);
5. otherwise wait, saying why.

A snapshot that would be taken is skipped when ``skip_empty`` is on and ZFS says nothing was written since the last
one (``written`` is 0): the last snapshot holds exactly the same data, so it stands for this time slot in retention.
It is never skipped while the share itself shows a band write or a completion newer than the last snapshot:
``written`` counts only data ZFS has synced (a transaction group is up to ``zfs_txg_timeout``, 5 s, behind), so a
0 read right after a backup's last write would otherwise skip a real backup (seen in the testbed).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

import attrs

from zfstm.timemachine.detector import Activity, ActivityState
from zfstm.timemachine.timefmt import aware, format_duration, format_utc


class Trigger(StrEnum):
    """Why a snapshot is taken; also the value of ``zfstm:trigger``."""

    FIRST = "first"
    COMPLETION = "completion"
    MAX_INTERVAL = "max-interval"
    MANUAL = "manual"


class DueAction(StrEnum):
    TAKE = "take"
    WAIT = "wait"
    SKIP_EMPTY = "skip-empty"


@attrs.frozen
class DuePolicy:
    """``max_interval`` None means only completed backups trigger snapshots."""

    max_interval: timedelta | None = timedelta(hours=24)
    skip_empty: bool = True

    def __attrs_post_init__(self) -> None:
        if self.max_interval is not None and self.max_interval <= timedelta(0):
            raise ValueError("snapshot policy max_interval must be positive")


@attrs.frozen
class LastSnapshot:
    """The newest zfstm snapshot of the dataset: its name, creation time and the completion it recorded."""

    name: str
    created: datetime = attrs.field(validator=aware)
    tm_completed: datetime | None = attrs.field(default=None, validator=aware)


@attrs.frozen
class DueDecision:
    """What to do now. ``stands_for`` names the snapshot that covers this time slot when one is skipped."""

    action: DueAction
    reason: str
    trigger: Trigger | None = None
    stands_for: str | None = None

    @property
    def due(self) -> bool:
        return self.action is DueAction.TAKE


def decide_snapshot(  # noqa: PLR0911 (one return per documented rule)
    activity: Activity,
    *,
    last: LastSnapshot | None,
    written_since_last: int | None,
    now: datetime,
    policy: DuePolicy | None = None,
) -> DueDecision:
    """Decide whether to snapshot now; see the module docstring for the rules and their order."""
    policy = policy or DuePolicy()
    if last is None:
        if activity.state is ActivityState.IN_PROGRESS:
            return DueDecision(DueAction.WAIT, f"no snapshot yet; waiting for the backup to end ({activity.reason})")
        return DueDecision(DueAction.TAKE, f"no zfstm snapshot yet ({activity.reason})", Trigger.FIRST)
    if last.created > now:
        return DueDecision(
            DueAction.WAIT,
            f"the last snapshot {last.name} is dated {format_utc(last.created)}, after now {format_utc(now)}: "
            "the clock looks wrong",
        )
    age = now - last.created
    if policy.max_interval is not None and age >= policy.max_interval:
        return _take_unless_empty(
            Trigger.MAX_INTERVAL,
            f"{format_duration(age)} since {last.name}, maximum interval {format_duration(policy.max_interval)} "
            f"({activity.reason})",
            last,
            written_since_last,
            policy,
            activity=activity,
        )
    if activity.state is ActivityState.COMPLETED_AND_QUIET and _completed_since(activity, last):
        return _take_unless_empty(
            Trigger.COMPLETION, activity.reason, last, written_since_last, policy, activity=activity
        )
    if activity.state is ActivityState.COMPLETED_AND_QUIET:
        return DueDecision(DueAction.WAIT, f"no backup completed since {last.name} ({activity.reason})")
    return DueDecision(DueAction.WAIT, f"{activity.state.value}: {activity.reason}")


def _completed_since(activity: Activity, last: LastSnapshot) -> bool:
    """Whether the latest completion is newer than what the last snapshot recorded (or, lacking that, its time)."""
    if activity.completed_at is None:
        return False
    reference = last.tm_completed if last.tm_completed is not None else last.created
    return activity.completed_at > reference


def _share_changed_since(activity: Activity, last: LastSnapshot) -> bool:
    """The share shows a write after the last snapshot, whatever ``written`` says (it lags by a transaction group)."""
    return any(t is not None and t > last.created for t in (activity.last_write_at, activity.completed_at))


def _take_unless_empty(
    trigger: Trigger,
    reason: str,
    last: LastSnapshot,
    written_since_last: int | None,
    policy: DuePolicy,
    *,
    activity: Activity,
) -> DueDecision:
    if policy.skip_empty and written_since_last == 0 and not _share_changed_since(activity, last):
        return DueDecision(
            DueAction.SKIP_EMPTY,
            f"nothing written since {last.name}; it stands for this slot ({trigger.value}: {reason})",
            trigger,
            stands_for=last.name,
        )
    return DueDecision(DueAction.TAKE, reason, trigger)
