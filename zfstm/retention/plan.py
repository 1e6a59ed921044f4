"""The result of retention planning: every snapshot kept or destroyed, with all the reasons, and the guards' view.

A plan is a value. Applying it is the shell's job (``zfstm.retention.apply``); before that, :meth:`Plan.check`
raises the safety refusal that applies, if any.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

import attrs

from zfstm.errors import CircuitBreakerError, ClockSkewError, SafetyRefusal
from zfstm.retention.policy import Policy
from zfstm.retention.snapshots import RetentionSnapshot


@attrs.frozen
class Decision:
    """Keep or destroy one snapshot, and every reason for it (human strings, see docs/retention.md)."""

    snapshot: RetentionSnapshot
    keep: bool
    reasons: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.snapshot.name

    @property
    def time(self) -> datetime:
        return self.snapshot.time


@attrs.frozen
class Plan:
    """Decisions for one dataset's snapshots at ``now`` under ``policy``.

    Stored as three parallel tuples (snapshots oldest first, kept flags, reasons), which is what a 100k-snapshot
    plan can afford; :attr:`decisions`, :attr:`keep` and :attr:`destroy` give per-snapshot objects on demand.
    """

    dataset: str
    now: datetime
    policy: Policy
    snapshots: tuple[RetentionSnapshot, ...]
    kept: tuple[bool, ...]
    reasons: tuple[tuple[str, ...], ...]
    usage: float | None = None
    #: Managed snapshots dated later than now plus the clock tolerance.
    future: tuple[RetentionSnapshot, ...] = ()

    def __attrs_post_init__(self) -> None:
        if not len(self.snapshots) == len(self.kept) == len(self.reasons):
            raise ValueError("plan: snapshots, kept and reasons must be parallel")

    @cached_property
    def decisions(self) -> tuple[Decision, ...]:
        """Every snapshot, oldest first."""
        return tuple(map(Decision, self.snapshots, self.kept, self.reasons))

    @cached_property
    def keep(self) -> tuple[Decision, ...]:
        return tuple(decision for decision in self.decisions if decision.keep)

    @cached_property
    def destroy(self) -> tuple[Decision, ...]:
        return tuple(decision for decision in self.decisions if not decision.keep)

    @cached_property
    def destroy_names(self) -> tuple[str, ...]:
        """Names to destroy, oldest first (without building Decision objects)."""
        return tuple(snap.name for snap, kept in zip(self.snapshots, self.kept, strict=True) if not kept)

    @property
    def breaker_tripped(self) -> bool:
        """Whether this run would destroy too large a share of the dataset's snapshots (see Policy)."""
        count = len(self.destroy_names)
        total = len(self.snapshots)
        return count >= self.policy.breaker_min and count > self.policy.max_destroy_share * total

    def refusal(self, *, force: bool = False) -> SafetyRefusal | None:
        """The reason not to apply this plan, or None. ``force`` overrides the circuit breaker, never the clock."""
        where = self.dataset or "snapshots"
        if self.future:
            first = self.future[-1]
            return ClockSkewError(
                f"{where}: prune refused: snapshot {first.name} is dated {first.time.isoformat()}, later than now "
                f"({self.now.isoformat()}) plus {self.policy.clock_tolerance}; the clock looks wrong. Fix the clock "
                f"(or that snapshot's name) first; nothing was destroyed"
            )
        if self.breaker_tripped and not force:
            share = self.policy.max_destroy_share
            return CircuitBreakerError(
                f"{where}: prune refused: it would destroy {len(self.destroy_names)} of {len(self.snapshots)} "
                f"snapshots, more than the {share:.0%} limit; review `zfstm plan {self.dataset or '...'}` and "
                "rerun with --force if that is intended; nothing was destroyed"
            )
        return None

    def check(self, *, force: bool = False) -> None:
        """Raise the applicable :class:`SafetyRefusal` (ClockSkewError, CircuitBreakerError), else return."""
        refusal = self.refusal(force=force)
        if refusal is not None:
            raise refusal
