"""What one look at a target found: the share's Time Machine files, the datasets' snapshots, and a few counters.

The datasets' snapshots are the one snapshot model's (:mod:`zfstm.snapshots.model`). These are the only inputs of
the pure decision code. ``None`` always means "not known" (the detector then ignores
that signal), never zero.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from zfstm.config.model import Target
from zfstm.snapshots.model import DatasetState
from zfstm.timemachine.share import ShareScan
from zfstm.volume.detector import VolumeLook


@attrs.frozen
class TargetObservation:
    """Everything one tick knows about one target. ``previous_written`` is ``written`` at the previous look, only
    when no snapshot was taken in between (otherwise unknown). ``volume`` is set for a volume target (its scan is
    then empty: zfstm reads nothing inside a Mac's filesystem)."""

    target: Target
    scan: ShareScan
    data: DatasetState
    cnid: DatasetState | None = None
    open_sessions: int | None = None
    previous_written: int | None = None
    share_path: str = ""
    #: the last file-server session end an event reported (zfstm.events), None without events
    session_end: datetime | None = None
    volume: VolumeLook | None = None
