"""What a tick did, as values: the final plan, the snapshots taken, busy targets, failures and destroy reports.

Partial failures are data here, not exceptions; :attr:`TickReport.exit_code` condenses them into the documented
exit code (docs/exit-codes.md). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from zfstm.errors import BusyError
from zfstm.lifecycle.decide import TickPlan
from zfstm.snapshots.model import DatasetState
from zfstm.zfs.types import DestroyReport


@attrs.frozen
class Failure:
    """Something that went wrong for one target (or a whole batch): where, and the error's message and code."""

    target: str
    step: str
    message: str
    exit_code: int
    #: A restart would not fix it (missing delegation, missing tool): the daemon stops for the administrator.
    fatal: bool = False


@attrs.frozen
class TickReport:
    """What a tick planned and what happened. ``plan`` is the final plan (re-planned after snapshotting)."""

    plan: TickPlan
    dry_run: bool
    snapshots: tuple[str, ...] = ()
    #: False for `zfstm snapshot`: holds move, nothing is destroyed.
    prune: bool = True
    busy: tuple[str, ...] = ()
    failures: tuple[Failure, ...] = ()
    refusals: tuple[Failure, ...] = ()
    destroyed: tuple[DestroyReport, ...] = ()
    #: The datasets' states the upkeep was planned over (dataset name -> state), e.g. for a reclaim estimate.
    states: Mapping[str, DatasetState] = attrs.field(factory=dict, hash=False)
    #: Seconds spent per stage (observe, snapshot, relist, upkeep), in order: where a tick's time goes.
    stages: tuple[tuple[str, float], ...] = attrs.field(default=(), eq=False)

    @property
    def refused_names(self) -> tuple[str, ...]:
        return tuple(result.name.full for report in self.destroyed for result in report.refused)

    @property
    def exit_code(self) -> int:
        """0 all done; the first failure's code; 4 a safety refusal; 3 names ZFS refused; 5 a target was busy."""
        if self.failures:
            return self.failures[0].exit_code
        if self.refusals:
            return 4
        if self.refused_names:
            return 3
        if self.busy:
            return BusyError.exit_code
        return 0
