"""`zfstm status --prometheus FILE`: per-target metrics in Prometheus' text format (0.0.4). Pure: values in, text out.

Written for node_exporter's textfile collector (``--collector.textfile.directory``): a timer or cron job runs
``zfstm status --prometheus /var/lib/node_exporter/textfile/zfstm.prom``, which replaces the file in one rename.
Ages are seconds at ``now``; a sample whose value is unknown (no snapshot yet, a target that could not be looked at)
is left out rather than written as 0, so alerts on ``absent()`` or on ``zfstm_target_up == 0`` see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from zfstm.lifecycle.status import TargetStatus, facts_from_status
from zfstm.timemachine.machineid import Verdict
from zfstm.zfs import BackendChoice

#: (name, help) of every metric, in the order they are written.
METRICS: tuple[tuple[str, str], ...] = (
    ("zfstm_info", "zfstm's version and the ZFS backend it chose (value always 1)"),
    ("zfstm_metrics_timestamp_seconds", "when these metrics were taken (Unix time)"),
    ("zfstm_target_up", "1 when the target could be looked at, 0 when looking failed (see zfstm_target_error)"),
    ("zfstm_target_error", "1 with the error's class as a label when looking at the target failed"),
    ("zfstm_last_backup_age_seconds", "seconds since Time Machine's last completed backup"),
    ("zfstm_last_snapshot_age_seconds", "seconds since zfstm's last snapshot of the target"),
    ("zfstm_known_good_age_seconds", "seconds since the known-good snapshot (hold zfstm-known-good)"),
    ("zfstm_snapshots", "snapshots of the target's dataset"),
    ("zfstm_managed_snapshots", "snapshots of the target's dataset that zfstm manages"),
    ("zfstm_verification_failed", "1 when Time Machine's last verification of the backup failed"),
    ("zfstm_rollback_unfinished", "1 when a rollback journal is open (zfstm rollback --resume)"),
    ("zfstm_dataset_used_bytes", "the dataset's used property (bytes, with snapshots)"),
    ("zfstm_dataset_available_bytes", "the dataset's available property (bytes)"),
    ("zfstm_pool_capacity_ratio", "used / (used + available) of the target's pool, 0..1"),
)


@attrs.frozen
class TargetSample:
    """One target's status, or the error that prevented it, and the space figures the shell read."""

    target: str
    dataset: str
    status: TargetStatus | None = None
    error: str | None = None  # the exception's class name
    used: int | None = None
    available: int | None = None
    capacity: float | None = None
    rollback_unfinished: bool = False


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items()) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _age(now: datetime, when: datetime | None) -> float | None:
    return None if when is None else (now - when).total_seconds()


def _target_samples(sample: TargetSample, now: datetime) -> dict[str, float | None]:
    values: dict[str, float | None] = {
        "zfstm_target_up": 0 if sample.status is None else 1,
        "zfstm_rollback_unfinished": 1 if sample.rollback_unfinished else 0,
        "zfstm_dataset_used_bytes": sample.used,
        "zfstm_dataset_available_bytes": sample.available,
        "zfstm_pool_capacity_ratio": sample.capacity,
    }
    status = sample.status
    if status is not None:
        facts = facts_from_status(status, unfinished=None, capacity=None)
        values |= {
            "zfstm_last_backup_age_seconds": _age(now, facts.last_backup),
            "zfstm_last_snapshot_age_seconds": _age(now, facts.last_snapshot),
            "zfstm_known_good_age_seconds": _age(now, facts.known_good),
            "zfstm_snapshots": len(status.snapshots),
            "zfstm_managed_snapshots": status.managed_count,
            "zfstm_verification_failed": 1 if status.verdict is Verdict.FAILED else 0,
        }
    return values


def prometheus_text(
    samples: Sequence[TargetSample], now: datetime, *, version: str, backend: BackendChoice | None
) -> str:
    """Every metric with its HELP and TYPE (all gauges) and one sample per target that has a value."""
    rows: dict[str, list[str]] = {name: [] for name, _ in METRICS}
    rows["zfstm_info"].append(_labels(version=version, backend=backend.kind if backend else "unknown") + " 1")
    rows["zfstm_metrics_timestamp_seconds"].append(" " + _number(now.timestamp()))
    for sample in samples:
        labels = _labels(target=sample.target, dataset=sample.dataset)
        if sample.error is not None:
            rows["zfstm_target_error"].append(
                _labels(target=sample.target, dataset=sample.dataset, error=sample.error) + " 1"
            )
        for name, value in _target_samples(sample, now).items():
            if value is not None:
                rows[name].append(f"{labels} {_number(value)}")
    lines = []
    for name, help_text in METRICS:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        lines += [f"{name}{row}" for row in rows[name]]
    return "\n".join(lines) + "\n"
