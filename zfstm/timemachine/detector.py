"""Is Time Machine writing to the share right now? A pure judgement over observations, with its reason.

Signals, first match wins (docs/timemachine.md explains each):

1. an ``.incomplete`` bundle exists                                   -> in progress (a first backup is being built)
2. AFP/SMB sessions are open on the share                             -> in progress (the volume is still mounted)
2b. a file-server session ended after the latest completion (within the clock tolerance), no session is open
   (known), and neither rule 4 nor rule 5 applies                     -> completed and quiet (the Mac let go)
3. the dataset's ``written`` grew by more than the noise allowance    -> in progress (something is writing)
4. the latest completion date is later than now (beyond tolerance)    -> unknown (a clock is wrong)
5. bands were written after the latest completion (beyond the slack) -> in progress while recent, then idle
   (an interrupted backup: nothing completed covers those writes); also when no completion is recorded at all
6. no completion date and no band mtimes                              -> unknown
7. a completion date but no band mtimes                               -> unknown (cannot tell whether it is quiet)
8. the last write (completion or band) is younger than the quiet period -> in progress (the backup is settling)
9. otherwise                                                          -> completed and quiet

Rule 2b is how events (zfstm.events) make the snapshot immediate: the session end stands in for the quiet period
(and for the growth of ``written``, which is the session's own writes). It never overrides evidence of activity
other than those two: a first backup, an open session, a wrong clock, bands newer than the completion.

Evidence of activity always wins over evidence of completion: a false "in progress" only delays a snapshot, a false
"completed" could mark a half-written backup as known-good.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

import attrs

from zfstm.timemachine.share import ShareScan
from zfstm.timemachine.timefmt import aware, format_duration, format_utc


class ActivityState(StrEnum):
    """The detector's answer; the value is what ``zfstm:activity`` records."""

    IN_PROGRESS = "in_progress"
    COMPLETED_AND_QUIET = "completed_and_quiet"
    IDLE = "idle"
    UNKNOWN = "unknown"


@attrs.frozen
class Activity:
    """The state, a sentence saying why, and the two times the judgement rested on."""

    state: ActivityState
    reason: str
    completed_at: datetime | None = attrs.field(default=None, validator=aware)
    last_write_at: datetime | None = attrs.field(default=None, validator=aware)


@attrs.frozen
class DetectorSettings:
    """Tunables. ``completion_slack`` lets Time Machine's tail (thinning, detaching the image) count as part of the
    backup it follows; ``written_noise_bytes`` ignores metadata trickle (atime, CNID database) in ``written``."""

    quiet_period: timedelta = timedelta(minutes=10)
    completion_slack: timedelta = timedelta(minutes=10)
    clock_skew_tolerance: timedelta = timedelta(minutes=5)
    written_noise_bytes: int = 1024 * 1024

    def __attrs_post_init__(self) -> None:
        for name in ("quiet_period", "completion_slack", "clock_skew_tolerance"):
            if getattr(self, name) < timedelta(0):
                raise ValueError(f"detector setting {name} must not be negative")
        if self.written_noise_bytes < 0:
            raise ValueError("detector setting written_noise_bytes must not be negative")


@attrs.frozen
class Observations:
    """What the shell saw. None means "not known", never "zero": unknown signals are simply not used.

    ``written_bytes`` is the dataset's ``written`` (bytes since its last snapshot) now, and
    ``previous_written_bytes`` the value seen at the previous look, if any.
    """

    now: datetime = attrs.field(validator=aware)
    latest_completion: datetime | None = attrs.field(default=None, validator=aware)
    newest_band_mtime: datetime | None = attrs.field(default=None, validator=aware)
    incomplete_bundle: bool = False
    open_sessions: int | None = None
    written_bytes: int | None = None
    previous_written_bytes: int | None = None
    session_ended_at: datetime | None = attrs.field(default=None, validator=aware)

    @classmethod
    def from_share(
        cls,
        scan: ShareScan,
        *,
        now: datetime,
        open_sessions: int | None = None,
        written_bytes: int | None = None,
        previous_written_bytes: int | None = None,
        session_ended_at: datetime | None = None,
    ) -> Observations:
        """Observations from a share scan plus what the ZFS and file-server shells know."""
        return cls(
            now=now,
            latest_completion=scan.latest_completion,
            newest_band_mtime=scan.newest_band_mtime,
            incomplete_bundle=bool(scan.incomplete_bundles),
            open_sessions=open_sessions,
            written_bytes=written_bytes,
            previous_written_bytes=previous_written_bytes,
            session_ended_at=session_ended_at,
        )


def detect(obs: Observations, settings: DetectorSettings | None = None) -> Activity:  # noqa: PLR0911 (one per rule)
    """Judge the share's backup activity; see the module docstring for the rules and their order."""
    settings = settings or DetectorSettings()
    completed, band = obs.latest_completion, obs.newest_band_mtime

    def activity(state: ActivityState, reason: str) -> Activity:
        return Activity(state, reason, completed, band)

    if obs.incomplete_bundle:
        return activity(ActivityState.IN_PROGRESS, "an .incomplete bundle exists: a first backup is being built")
    if obs.open_sessions is not None and obs.open_sessions > 0:
        return activity(
            ActivityState.IN_PROGRESS, f"{obs.open_sessions} file-server session(s) open: the volume is mounted"
        )
    ended = _session_ended_after_completion(obs, settings)
    if ended is not None:
        return activity(ActivityState.COMPLETED_AND_QUIET, ended)
    growth = _written_growth(obs)
    if growth is not None and growth > settings.written_noise_bytes:
        return activity(ActivityState.IN_PROGRESS, f"{growth} bytes written to the dataset since the last look")
    if completed is not None and completed > obs.now + settings.clock_skew_tolerance:
        return activity(
            ActivityState.UNKNOWN,
            f"the latest completion {format_utc(completed)} is later than now {format_utc(obs.now)}: "
            "the Mac's or the server's clock is wrong",
        )
    if band is not None and (completed is None or band > completed + settings.completion_slack):
        after = "no completed backup is recorded" if completed is None else f"after completion {format_utc(completed)}"
        quiet_for = obs.now - band
        if quiet_for < settings.quiet_period:
            return activity(ActivityState.IN_PROGRESS, f"bands written {format_duration(quiet_for)} ago, {after}")
        return activity(
            ActivityState.IDLE,
            f"quiet for {format_duration(quiet_for)}, but bands were written at {format_utc(band)}, {after}: "
            "no completed backup covers them (an interrupted backup?)",
        )
    if completed is None:
        return activity(ActivityState.UNKNOWN, "no completion date and no band mtimes: nothing to judge by")
    if band is None:
        return activity(
            ActivityState.UNKNOWN,
            f"completed at {format_utc(completed)}, but no band mtimes to tell whether the share is quiet",
        )
    last_write = max(completed, band)
    quiet_for = obs.now - last_write
    if quiet_for < settings.quiet_period:
        return activity(
            ActivityState.IN_PROGRESS,
            f"completed at {format_utc(completed)}, last write {format_duration(quiet_for)} ago: "
            f"waiting for {format_duration(settings.quiet_period)} of quiet",
        )
    return activity(
        ActivityState.COMPLETED_AND_QUIET,
        f"completed at {format_utc(completed)}, quiet for {format_duration(quiet_for)}",
    )


def _written_growth(obs: Observations) -> int | None:
    """Bytes written since the previous look, or None when unknown (a snapshot in between resets ``written``)."""
    if obs.written_bytes is None or obs.previous_written_bytes is None:
        return None
    growth = obs.written_bytes - obs.previous_written_bytes
    return growth if growth >= 0 else None


def _session_ended_after_completion(obs: Observations, settings: DetectorSettings) -> str | None:
    """Rule 2b's reason, when it applies: a session end after the latest completion, nothing open, and rules 4
    and 5 would not object; None otherwise."""
    ended, completed, band = obs.session_ended_at, obs.latest_completion, obs.newest_band_mtime
    if ended is None or completed is None or obs.open_sessions != 0:
        return None
    if completed > obs.now + settings.clock_skew_tolerance or ended + settings.clock_skew_tolerance < completed:
        return None
    if band is not None and band > completed + settings.completion_slack:
        return None
    return f"completed at {format_utc(completed)}; the file-server session ended at {format_utc(ended)}, none open"
