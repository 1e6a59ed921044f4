"""What `zfstm check` concludes for a monitoring system (Nagios, Icinga, Zabbix...): states, one line, JSON. Pure.

Why a separate verdict from ``zfstm status``: a monitoring check must turn facts into OK / WARNING / CRITICAL /
UNKNOWN against thresholds, and say in one line what is wrong. Each target contributes one finding per metric:
the age of the last completed Time Machine backup, the verification verdict, the age of the last zfstm snapshot and
of the known-good one, an unfinished rollback, and the pool's capacity. The worst finding decides the exit code, in
the order CRITICAL > WARNING > UNKNOWN > OK (the order the monitoring plugins use).

A replica (``replica = true``) takes no snapshots of its own, so the age of its newest zfstm snapshot is how far the
replication lags (``replication_lag``, in place of ``snapshot_age``); its known-good snapshot is the one the source's
rule picks from the snapshots' own properties (holds do not travel with ``zfs send``), and it warns when that is old
or missing like a source's: a replica without a recent known-good snapshot is no safe place to restore from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

import attrs

from zfstm.retention.durations import format_duration, parse_duration
from zfstm.timemachine.machineid import Verdict
from zfstm.timemachine.timefmt import format_utc


class State(IntEnum):
    """Nagios plugin exit codes."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


_SEVERITY = {State.OK: 0, State.UNKNOWN: 1, State.WARNING: 2, State.CRITICAL: 3}


def worst(states: Sequence[State]) -> State:
    """CRITICAL > WARNING > UNKNOWN > OK; no findings at all is UNKNOWN (nothing was checked)."""
    return max(states, key=_SEVERITY.__getitem__, default=State.UNKNOWN)


@attrs.frozen
class Limit:
    """A WARNING and a CRITICAL threshold; a value at or above ``critical`` is CRITICAL."""

    warning: float
    critical: float

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.warning <= self.critical:
            raise ValueError(f"warning {self.warning} must be >= 0 and <= critical {self.critical}")

    def judge(self, value: float) -> State:
        if value >= self.critical:
            return State.CRITICAL
        return State.WARNING if value >= self.warning else State.OK


HOUR = 3600.0
DAY = 24 * HOUR


@attrs.frozen
class Thresholds:
    """Defaults fit a Mac that backs up hourly but may be away for a weekend (ages in seconds)."""

    backup_age: Limit = Limit(2 * DAY, 7 * DAY)
    snapshot_age: Limit = Limit(2 * DAY, 7 * DAY)
    known_good_age: Limit = Limit(7 * DAY, 14 * DAY)
    #: A replica's newest zfstm snapshot: no fresher than the source's (``snapshot_age``) plus the replication period.
    replication_lag: Limit = Limit(2 * DAY, 7 * DAY)
    capacity: Limit = Limit(0.80, 0.90)
    #: The state for a failed Time Machine verification (the Mac will ask to start a new backup).
    verification_failed: State = State.CRITICAL
    #: The state when no completed backup / snapshot / known-good exists yet (e.g. a share provisioned today).
    missing: State = State.WARNING


#: The states ``--verification-failed`` / ``verification_failed`` and ``--missing`` / ``missing`` accept.
VERIFICATION_FAILED_STATES = ("warning", "critical")
MISSING_STATES = ("ok", "warning", "critical", "unknown")


def _limit(text: str, convert: Callable[[str], float]) -> Limit:
    warn, sep, crit = text.partition(",")
    if not sep:
        raise ValueError(f"{text!r}: give WARNING,CRITICAL, e.g. 2d,7d or 80%,90%")
    low, high = convert(warn.strip()), convert(crit.strip())
    if low > high:
        raise ValueError(f"{text!r}: WARNING must not be above CRITICAL")
    return Limit(low, high)


def _seconds(text: str) -> float:
    return parse_duration(text).total_seconds()


def _fraction(text: str) -> float:
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise ValueError(f"{text!r} is not a capacity: write a fraction 0..1 or a percentage, e.g. 0.8 or 80%")
    return value


def parse_age_limit(text: str) -> Limit:
    """``2d,7d`` as the flags and the ``[check]`` table write it (seconds)."""
    return _limit(text, _seconds)


def parse_capacity_limit(text: str) -> Limit:
    """``80%,90%`` or ``0.8,0.9``; above 1 is refused, since ``80,90`` would silently never fire."""
    return _limit(text, _fraction)


def parse_state(text: str, allowed: Sequence[str]) -> State:
    word = text.strip().lower()
    if word not in allowed:
        raise ValueError(f"{text!r} is not one of: {', '.join(allowed)}")
    return State[word.upper()]


def format_age_limit(limit: Limit) -> str:
    """The text :func:`parse_age_limit` reads back as ``limit`` (whole seconds, as durations are)."""
    return ",".join(format_duration(timedelta(seconds=value)) for value in (limit.warning, limit.critical))


def _percent(value: float) -> str:
    text = f"{value * 100:g}%"
    return text if _fraction(text) == value else repr(value)


def format_capacity_limit(limit: Limit) -> str:
    """Percentages where they read back exactly, else the fraction itself."""
    return f"{_percent(limit.warning)},{_percent(limit.critical)}"


@attrs.frozen
class TargetFacts:
    """What the check needs to know about one target at ``now``."""

    target: str
    last_backup: datetime | None
    verdict: Verdict
    last_snapshot: datetime | None
    known_good: datetime | None
    unfinished_rollback: str | None = None  # its description, when a rollback journal is open
    capacity: float | None = None  # used / (used + available) of the target's pool, 0..1
    cnid_layout: str | None = None  # why its rollbacks cannot be paired (a Netatalk share without a CNID dataset)
    replica: bool = False  # filled by replication: its newest snapshot's age is the replication lag


@attrs.frozen
class Finding:
    target: str
    metric: str
    state: State
    value: float | str | None
    message: str
    #: The thresholds the value was judged against (ages, capacity): written into the performance data.
    limit: Limit | None = None


def _age_text(seconds: float) -> str:
    if seconds < 0:
        return f"{_age_text(-seconds)} in the future"
    if seconds < 2 * HOUR:
        return f"{seconds / 60:.0f}m"
    if seconds < 2 * DAY:
        return f"{seconds / HOUR:.1f}h"
    return f"{seconds / DAY:.1f}d"


def _age(
    facts: TargetFacts, metric: str, what: str, *, when: datetime | None, limit: Limit, now: datetime, missing: State
) -> Finding:
    if when is None:
        return Finding(facts.target, metric, missing, None, f"no {what} yet")
    seconds = (now - when).total_seconds()
    if seconds < 0:
        return Finding(facts.target, metric, State.UNKNOWN, seconds, f"{what} dated in the future (clock?)", limit)
    return Finding(facts.target, metric, limit.judge(seconds), seconds, f"{what} {_age_text(seconds)} ago", limit)


def evaluate(facts: TargetFacts, thresholds: Thresholds, now: datetime) -> list[Finding]:
    """One finding per metric for one target."""
    t = thresholds
    found = [
        _age(
            facts, "backup_age", "last backup", when=facts.last_backup, limit=t.backup_age, now=now, missing=t.missing
        ),
        _age(
            facts,
            "replication_lag" if facts.replica else "snapshot_age",
            "newest replicated snapshot" if facts.replica else "last snapshot",
            when=facts.last_snapshot,
            limit=t.replication_lag if facts.replica else t.snapshot_age,
            now=now,
            missing=t.missing,
        ),
        _age(
            facts,
            "known_good_age",
            "known-good snapshot",
            when=facts.known_good,
            limit=t.known_good_age,
            now=now,
            missing=t.missing,
        ),
    ]
    verification = {
        Verdict.OK: (State.OK, "verification ok"),
        Verdict.FAILED: (t.verification_failed, "Time Machine verification FAILED (see zfstm rollback --last-good)"),
        Verdict.UNKNOWN: (State.OK, "verification state unknown"),
        Verdict.NOT_APPLICABLE: (State.OK, "a volume: no Time Machine verification to read"),
    }[facts.verdict]
    found.append(Finding(facts.target, "verification", verification[0], facts.verdict.value, verification[1]))
    if facts.unfinished_rollback is not None:
        found.append(Finding(facts.target, "rollback", State.CRITICAL, "unfinished", facts.unfinished_rollback))
    else:
        found.append(Finding(facts.target, "rollback", State.OK, "none", "no unfinished rollback"))
    if facts.cnid_layout is not None:
        found.append(Finding(facts.target, "cnid_layout", State.WARNING, "rebuild", facts.cnid_layout))
    if facts.capacity is None:
        found.append(Finding(facts.target, "capacity", State.UNKNOWN, None, "pool capacity unknown"))
    else:
        state = t.capacity.judge(facts.capacity)
        message = f"pool {facts.capacity:.0%} full"
        found.append(Finding(facts.target, "capacity", state, facts.capacity, message, t.capacity))
    return found


def _threshold(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"


def perfdata(finding: Finding) -> str:
    """``'label'=value[UOM];warn;crit;min;max`` (monitoring plugins' format). Ages in seconds with min 0 and no
    max; capacity in percent with min 0 and max 100. Thresholds are empty when the finding has none."""
    value = finding.value if isinstance(finding.value, float) else 0.0
    limit = finding.limit
    if finding.metric == "capacity":
        warn, crit = (_threshold(limit.warning * 100), _threshold(limit.critical * 100)) if limit else ("", "")
        return f"'{finding.target}_capacity'={value * 100:.1f}%;{warn};{crit};0;100"
    warn, crit = (_threshold(limit.warning), _threshold(limit.critical)) if limit else ("", "")
    return f"'{finding.target}_{finding.metric}'={value:.0f}s;{warn};{crit};0;"


def summary_line(findings: Sequence[Finding]) -> str:
    """``ZFSTM WARNING - tm: last backup 3.1d ago; office: ok`` plus performance data after ``|``."""
    state = worst([f.state for f in findings])
    targets = list(dict.fromkeys(f.target for f in findings))
    parts = []
    for target in targets:
        bad = [f.message for f in findings if f.target == target and f.state != State.OK]
        parts.append(f"{target}: {', '.join(bad) if bad else 'ok'}")
    perf = [
        perfdata(f)
        for f in findings
        if isinstance(f.value, float) and f.value >= 0 and (f.metric.endswith("_age") or f.metric == "capacity")
    ]
    text = f"ZFSTM {state.name} - " + ("; ".join(parts) if parts else "no targets checked")
    return text + (" | " + " ".join(perf) if perf else "")


def check_json(findings: Sequence[Finding], now: datetime) -> dict[str, Any]:
    state = worst([f.state for f in findings])
    return {
        "state": state.name,
        "exit_code": int(state),
        "now": format_utc(now),
        "summary": summary_line(findings),
        "findings": [
            {"target": f.target, "metric": f.metric, "state": f.state.name, "value": f.value, "message": f.message}
            for f in findings
        ],
    }
