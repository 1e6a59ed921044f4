"""What `zfstm status` shows per target, as values, a table and JSON. Pure: built from an observation.

Per target: the last Time Machine completion, the verification verdict and date, what the detector says now, the
last snapshot, the known-good one (the snapshot holding ``zfstm-known-good``), the snapshot counts, and every
snapshot with USED and REFER like ``zfs list`` (human units in the table, bytes in JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from zfstm.check.verdict import TargetFacts
from zfstm.config.model import FileServerKind, Target
from zfstm.events.record import EventRecord
from zfstm.lifecycle.decide import judge
from zfstm.lifecycle.model import TargetObservation
from zfstm.snapshots.model import SnapshotView
from zfstm.snapshots.tags import KNOWN_GOOD_HOLD
from zfstm.timemachine import properties as props
from zfstm.timemachine.detector import Activity
from zfstm.timemachine.knowngood import choose_known_good
from zfstm.timemachine.machineid import Verdict
from zfstm.timemachine.timefmt import format_utc


@attrs.frozen
class TargetStatus:
    target: str
    dataset: str
    share_path: str
    last_completion: datetime | None
    verdict: Verdict
    verification_date: datetime | None
    activity: Activity
    last_snapshot: str | None
    known_good: str | None
    snapshots: tuple[SnapshotView, ...]
    cnid_dataset: str | None = None
    open_sessions: int | None = None
    #: why a rollback of this Netatalk share cannot be paired, and what to do (None: nothing to say)
    cnid_layout: str | None = None
    #: the last session event the daemon recorded (zfstm.events), None without events
    event: EventRecord | None = None
    #: filled by replication (``replica = true``): known-good and last backup come from the snapshots' properties
    replica: bool = False

    @property
    def managed_count(self) -> int:
        return sum(1 for view in self.snapshots if view.managed)


def target_status(obs: TargetObservation, now: datetime) -> TargetStatus:
    activity, verdict, verified = judge(obs, now)
    last = obs.data.last_managed
    completion = obs.scan.latest_completion
    if obs.volume is not None or obs.target.replica:  # the last backup a snapshot recorded as over
        dates = [view.record().tm_completed for view in obs.data.managed]
        completion = max((date for date in dates if date is not None), default=None)
    held = obs.data.held(KNOWN_GOOD_HOLD)
    newest_held = max(held, key=lambda view: (view.time, view.createtxg), default=None)
    known_good = newest_held.name.full if newest_held else None
    if obs.target.replica and known_good is None:  # holds stay behind on the source: its rule, on the properties
        chosen = choose_known_good(view.record() for view in obs.data.managed)
        known_good = chosen.name if chosen else None
    return TargetStatus(
        target=obs.target.name,
        dataset=obs.target.dataset.full,
        share_path=obs.share_path,
        last_completion=completion,
        verdict=verdict,
        verification_date=verified,
        activity=activity,
        last_snapshot=last.name.full if last else None,
        known_good=known_good,
        snapshots=obs.data.snapshots,
        cnid_dataset=obs.target.cnid_dataset.full if obs.target.cnid_dataset else None,
        open_sessions=obs.open_sessions,
        cnid_layout=cnid_layout_note(obs.target),
        replica=obs.target.replica,
    )


def cnid_layout_note(target: Target) -> str | None:
    """A Netatalk share without a CNID dataset cannot be rolled back paired: its database (netatalk's default
    place, or wherever afp.conf puts it) is rebuilt from the files' metadata EAs instead, which keeps the CNIDs of
    what netatalk has seen but is slower and cannot restore a file that was never seen over AFP."""
    if target.file_server.kind is not FileServerKind.NETATALK or target.cnid_dataset is not None:
        return None
    return (
        "its CNID database is not on a CNID dataset of its own, so a rollback rebuilds it instead of rolling it "
        f"back with the share: `zfstm cnid migrate {target.name}` moves it"
    )


def human_size(value: int | None) -> str:
    """``zfs list`` style: 0B, 512B, 96K, 1.21M, 15.3G (three significant digits, 1024-based)."""
    if value is None:
        return "-"
    if value < 1024:
        return f"{value}B"
    amount = float(value)
    for unit in "KMGTPE":
        amount /= 1024
        if amount < 1024 or unit == "E":
            text = f"{amount:.2f}" if amount < 10 else (f"{amount:.1f}" if amount < 100 else f"{amount:.0f}")
            return text.rstrip("0").rstrip(".") + unit if "." in text else text + unit
    return f"{value}B"  # pragma: no cover


def _time(value: datetime | None) -> str | None:
    return format_utc(value) if value is not None else None


def snapshot_json(view: SnapshotView) -> dict[str, Any]:
    return {
        "name": view.name.full,
        "time": format_utc(view.time),
        "creation": _time(view.creation),
        "createtxg": view.createtxg,
        "used": view.used,
        "referenced": view.referenced,
        "managed": view.managed,
        "trigger": view.properties.get(props.TRIGGER),
        "activity": view.properties.get(props.ACTIVITY),
        "tm_completed": view.properties.get(props.TM_COMPLETED),
        "verification": view.properties.get(props.TM_VERIFICATION),
        "holds": sorted(view.holds),
    }


def event_json(record: EventRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    event = record.last
    return {
        "at": format_utc(event.at),
        "source": event.source.value,
        "kind": event.kind.value,
        "detail": event.detail,
        "session_end": _time(record.session_end),
    }


def event_text(record: EventRecord) -> str:
    event = record.last
    text = f"last event {format_utc(event.at)} from {event.source.value}: {event.detail or event.kind.value}"
    return text + (f"; last session end {format_utc(record.session_end)}" if record.session_end else "")


def status_json(statuses: list[TargetStatus], backend: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``{"backend": {"kind", "label", "reason"}, "targets": [...]}``; ``backend`` (``BackendChoice.as_json()``)
    only when given."""
    head: dict[str, Any] = {} if backend is None else {"backend": dict(backend)}
    return head | {
        "targets": [
            {
                "target": s.target,
                "dataset": s.dataset,
                "share_path": s.share_path,
                "cnid_dataset": s.cnid_dataset,
                "cnid_layout": s.cnid_layout,
                "last_backup_completion": _time(s.last_completion),
                "verification": {"state": s.verdict.value, "date": _time(s.verification_date)},
                "activity": {"state": s.activity.state.value, "reason": s.activity.reason},
                "open_sessions": s.open_sessions,
                "last_snapshot": s.last_snapshot,
                "known_good": s.known_good,
                "snapshot_count": len(s.snapshots),
                "managed_count": s.managed_count,
                "snapshots": [snapshot_json(view) for view in s.snapshots],
                "event": event_json(s.event),
            }
            for s in statuses
        ]
    }


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {"USED", "REFER"}
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.rjust(width) if name in right else cell.ljust(width)
            for cell, width, name in zip(row, widths, header, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def status_text(
    statuses: list[TargetStatus], *, snapshots: bool = True, backend: Mapping[str, str] | None = None
) -> str:
    """The ZFS backend and why (when given), a summary table of the targets, then each target's snapshots like
    ``zfs list -t snapshot``."""
    first = [f"ZFS backend: {backend['label']} ({backend['reason']})", ""] if backend is not None else []
    header = ["TARGET", "DATASET", "LAST BACKUP", "VERIFICATION", "LAST SNAPSHOT", "KNOWN-GOOD", "SNAPSHOTS"]
    rows = [
        [
            s.target,
            s.dataset,
            _time(s.last_completion) or "-",
            s.verdict.value + (f" ({format_utc(s.verification_date)})" if s.verification_date else ""),
            s.last_snapshot.rpartition("@")[2] if s.last_snapshot else "-",
            s.known_good.rpartition("@")[2] if s.known_good else "-",
            f"{len(s.snapshots)} ({s.managed_count} managed)",
        ]
        for s in statuses
    ]
    lines = first + _table(header, rows)
    for s in statuses:
        lines.append("")
        lines.append(f"{s.target}: {s.activity.state.value}: {s.activity.reason}")
        if s.cnid_layout:
            lines.append(f"{s.target}: note: {s.cnid_layout}")
        if s.event is not None:
            lines.append(f"{s.target}: {event_text(s.event)}")
        if not snapshots:
            continue
        if not s.snapshots:
            lines.append("  no snapshots")
            continue
        snap_rows = [
            [
                view.name.full,
                human_size(view.used),
                human_size(view.referenced),
                _time(view.creation) or "-",
                view.properties.get(props.TRIGGER, "-") if view.managed else "foreign",
                view.properties.get(props.TM_VERIFICATION, "-"),
                ",".join(sorted(view.holds)) or "-",
            ]
            for view in s.snapshots
        ]
        header2 = ["NAME", "USED", "REFER", "CREATION", "TRIGGER", "VERIFIED", "HOLDS"]
        lines.extend("  " + line for line in _table(header2, snap_rows))
    return "\n".join(lines) + "\n"


def facts_from_status(status: TargetStatus, *, unfinished: str | None, capacity: float | None) -> TargetFacts:
    """The times of the last and known-good snapshots, looked up in the status's snapshot list."""
    times = {view.name.full: view.time for view in status.snapshots}
    return TargetFacts(
        target=status.target,
        last_backup=status.last_completion,
        verdict=status.verdict,
        last_snapshot=times.get(status.last_snapshot) if status.last_snapshot else None,
        known_good=times.get(status.known_good) if status.known_good else None,
        unfinished_rollback=unfinished,
        capacity=capacity,
        cnid_layout=status.cnid_layout,
        replica=status.replica,
    )
