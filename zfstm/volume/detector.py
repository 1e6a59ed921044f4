"""Is a Mac writing to its volume? A pure judgement from the volume itself: no plists, no Mac filesystem read.

Time Machine in local-disk mode keeps the iSCSI session logged in between backups, so a session proves nothing;
only writes do. Two counters see them: the zvol's ``written`` (bytes since its newest snapshot) and, when the
export is known, the target's write counter for the LUN. Each look records the counters; ``quiet_since`` is the
first look that saw them as they are now. Rules, first match wins:

1. neither counter is known                                  -> unknown
2. a counter grew (``written`` by more than the noise allowance) -> in progress; quiet_since becomes now
3. no earlier look to compare with                             -> in progress: the quiet period starts now
4. quiet for less than the quiet period                        -> in progress (the backup may only be pausing)
5. otherwise                                                   -> completed and quiet, completed at quiet_since

"Completed at quiet_since" is the first moment zfstm saw the volume as it is now: the backup ended at or before
it. A false "in progress" only delays a snapshot, so every doubt falls that way.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from zfstm.timemachine.detector import Activity, ActivityState, DetectorSettings
from zfstm.timemachine.timefmt import aware, format_duration, format_utc


@attrs.frozen
class VolumeLook:
    """One look's counters and the previous look's. ``None`` means not known, never zero.

    ``previous_written`` is only given when the newest snapshot is the one it was counted from (a snapshot resets
    ``written``); ``writes`` is the target's write counter for the LUN (LIO: megabytes written), if known.
    """

    written: int | None = None
    previous_written: int | None = None
    writes: int | None = None
    previous_writes: int | None = None
    quiet_since: datetime | None = attrs.field(default=None, validator=aware)


def grew(look: VolumeLook, settings: DetectorSettings) -> str | None:
    """What grew since the previous look, as a phrase, or None."""
    if look.written is not None and look.previous_written is not None:
        growth = look.written - look.previous_written
        if growth > settings.written_noise_bytes:
            return f"{growth} bytes written to the volume since the last look"
    if look.writes is not None and look.previous_writes is not None and look.writes > look.previous_writes:
        return f"the target's write counter went from {look.previous_writes} to {look.writes} since the last look"
    return None


def next_quiet_since(look: VolumeLook, settings: DetectorSettings, now: datetime) -> datetime:
    """The quiet_since to remember after this look: now when something grew or nothing was known before."""
    if look.quiet_since is None or grew(look, settings) is not None:
        return now
    return look.quiet_since


def detect_volume(look: VolumeLook, settings: DetectorSettings, now: datetime) -> Activity:
    """Judge the volume's backup activity; see the module docstring for the rules."""
    if look.written is None and look.writes is None:
        return Activity(ActivityState.UNKNOWN, "neither the volume's written nor the target's counters are known")
    growth = grew(look, settings)
    if growth is not None:
        return Activity(ActivityState.IN_PROGRESS, growth, None, now)
    if look.quiet_since is None:
        return Activity(
            ActivityState.IN_PROGRESS,
            f"first look at the volume: waiting for {format_duration(settings.quiet_period)} without writes",
        )
    quiet_for = now - look.quiet_since
    if quiet_for < settings.quiet_period:
        return Activity(
            ActivityState.IN_PROGRESS,
            f"no writes for {format_duration(quiet_for)}: waiting for {format_duration(settings.quiet_period)}",
            None,
            look.quiet_since,
        )
    return Activity(
        ActivityState.COMPLETED_AND_QUIET,
        f"no writes to the volume since {format_utc(look.quiet_since)} ({format_duration(quiet_for)})",
        look.quiet_since,
        look.quiet_since,
    )
