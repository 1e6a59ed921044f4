"""Retention: Time Machine's rules (hourly for a day, daily for a month, weekly beyond) as pure planning.

``plan(snapshots, now, policy)`` returns a :class:`Plan` in which every snapshot is kept or destroyed with all its
reasons; nothing here touches ZFS. See docs/retention.md for the exact semantics.
"""

from __future__ import annotations

from zfstm.retention.plan import Decision, Plan
from zfstm.retention.planner import plan
from zfstm.retention.policy import DEFAULT_POLICY, Pick, Policy, SpaceTier, Tier, Unit
from zfstm.retention.snapshots import KNOWN_GOOD_HOLD, MANAGED_PROPERTY, RetentionSnapshot, classify

__all__ = [
    "DEFAULT_POLICY",
    "KNOWN_GOOD_HOLD",
    "MANAGED_PROPERTY",
    "Decision",
    "Pick",
    "Plan",
    "Policy",
    "RetentionSnapshot",
    "SpaceTier",
    "Tier",
    "Unit",
    "classify",
    "plan",
]
