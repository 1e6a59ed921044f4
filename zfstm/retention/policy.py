"""The retention policy as a value: calendar tiers, the representative pick, the always-kept floor and the guards.

The default is Time Machine's rule: hourly representatives younger than 24 h, daily ones younger than 31 days,
weekly ones for ever, in UTC unless a zone is configured.
"""

from __future__ import annotations

import enum
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from zfstm.errors import ConfigError


class Unit(enum.Enum):
    """A calendar bucket on the local clock of the policy's zone. Hours nest in days, days in weeks."""

    HOUR = "hourly"
    DAY = "daily"
    WEEK = "weekly"
    MONTH = "monthly"


class Pick(enum.Enum):
    """Which managed snapshot of a bucket represents it."""

    FIRST = "first"
    LAST = "last"


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@attrs.frozen
class Tier:
    """Keep each ``unit`` bucket's representative while it is younger than ``max_age`` (None: for ever).

    ``unit=None`` is the ``all`` tier: keep every managed snapshot younger than ``max_age``.
    """

    unit: Unit | None
    max_age: timedelta | None

    def __attrs_post_init__(self) -> None:
        if self.max_age is not None and self.max_age <= timedelta(0):
            raise ConfigError(f"retention tier {self.name}: the age limit must be positive")
        if self.unit is None and self.max_age is None:
            raise ConfigError("retention tier all: needs an age limit (keeping every snapshot for ever never prunes)")

    @property
    def name(self) -> str:
        return "all" if self.unit is None else self.unit.value


@attrs.frozen
class SpaceTier:
    """Above ``above`` (a fraction of the pool or dataset in use), destroy the oldest coarsest-tier keepers first.

    At most ``per_run`` go per run; the next run looks at the usage again. Never the newest, ``min_keep``, held,
    known-good or foreign snapshots.
    """

    above: float
    per_run: int = 1
    basis: str = "dataset"

    def __attrs_post_init__(self) -> None:
        if not 0.0 < self.above < 1.0:
            raise ConfigError(f"space tier: usage threshold {self.above} must be between 0 and 1 (e.g. 0.9)")
        if self.per_run < 1:
            raise ConfigError("space tier: per_run must be at least 1")
        if self.basis not in {"pool", "dataset"}:
            raise ConfigError(f"space tier: basis {self.basis!r} must be pool or dataset")


DEFAULT_TIERS = (
    Tier(Unit.HOUR, timedelta(hours=24)),
    Tier(Unit.DAY, timedelta(days=31)),
    Tier(Unit.WEEK, None),
)


@attrs.frozen
class Policy:
    """Everything that decides which snapshots stay.

    ``max_destroy_share`` and ``breaker_min`` form the circuit breaker: a run that would destroy more than that
    share of a dataset's snapshots, and at least ``breaker_min`` of them, is refused unless forced.
    ``clock_tolerance`` is how far in the future a managed snapshot may be dated before the clock is distrusted.
    """

    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    zone: str = "UTC"
    pick: Pick = Pick.LAST
    week_start: int = 0
    min_keep: int = 1
    clock_tolerance: timedelta = timedelta(minutes=15)
    max_destroy_share: float = 0.5
    breaker_min: int = 10
    space: SpaceTier | None = None

    def __attrs_post_init__(self) -> None:
        try:
            ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"retention policy: unknown time zone {self.zone!r} (use an IANA name)") from None
        units = [tier.name for tier in self.tiers]
        duplicates = sorted({name for name in units if units.count(name) > 1})
        if duplicates:
            raise ConfigError(f"retention policy: tier {', '.join(duplicates)} is given twice")
        if not 0 <= self.week_start <= 6:
            raise ConfigError(f"retention policy: week_start {self.week_start} must be 0 (Monday) .. 6 (Sunday)")
        if self.min_keep < 1:
            raise ConfigError("retention policy: min_keep must be at least 1 (the newest snapshot is always kept)")
        if self.clock_tolerance < timedelta(0):
            raise ConfigError("retention policy: clock_tolerance must not be negative")
        if not 0.0 < self.max_destroy_share <= 1.0:
            raise ConfigError("retention policy: max_destroy_share must be above 0 and at most 1 (1 disables it)")
        if self.breaker_min < 1:
            raise ConfigError("retention policy: breaker_min must be at least 1")

    @property
    def week_start_name(self) -> str:
        return WEEKDAYS[self.week_start]


DEFAULT_POLICY = Policy()
