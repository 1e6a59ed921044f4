"""``com.apple.TimeMachine.SnapshotHistory.plist``: the Mac's own record of completed backups.

Time Machine rewrites it (``*.plist.tmp`` then rename) when a backup completes; its newest
``SnapshotCompletionDate`` is the best evidence that a backup finished. The dates are the Mac's clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from zfstm.timemachine.plist import Unreadable, get_date, get_str, load_dict

HISTORY_PLIST = "com.apple.TimeMachine.SnapshotHistory.plist"

SNAPSHOTS_KEY = "Snapshots"
COMPLETION_DATE_KEY = "com.apple.backupd.SnapshotCompletionDate"
SNAPSHOT_NAME_KEY = "com.apple.backupd.SnapshotName"


@attrs.frozen
class SnapshotEntry:
    """One backup Time Machine recorded; either field may be missing in a damaged file."""

    name: str | None
    completed: datetime | None


@attrs.frozen
class SnapshotHistory:
    """All entries in file order, and what was odd about the file."""

    entries: tuple[SnapshotEntry, ...]
    problems: tuple[str, ...] = ()

    @property
    def latest_completion(self) -> datetime | None:
        """The newest completion date recorded, whatever the order of the entries."""
        dates = [entry.completed for entry in self.entries if entry.completed is not None]
        return max(dates, default=None)


def parse_history(data: bytes, *, source: str = HISTORY_PLIST) -> SnapshotHistory | Unreadable:
    """Decode SnapshotHistory.plist bytes; entries that are not dictionaries are skipped and reported."""
    fields = load_dict(data, what=source)
    if isinstance(fields, Unreadable):
        return fields
    snapshots = fields.get(SNAPSHOTS_KEY)
    if snapshots is None:
        return SnapshotHistory((), (f"{source} has no {SNAPSHOTS_KEY} array",))
    if not isinstance(snapshots, list):
        return Unreadable(f"{source}: {SNAPSHOTS_KEY} is a {type(snapshots).__name__}, expected an array")
    problems: list[str] = []
    entries: list[SnapshotEntry] = []
    for position, item in enumerate(snapshots):
        if not isinstance(item, Mapping):
            problems.append(f"{SNAPSHOTS_KEY}[{position}] is a {type(item).__name__}, expected a dictionary")
            continue
        item_fields = {str(key): value for key, value in item.items()}
        entries.append(
            SnapshotEntry(
                name=get_str(item_fields, SNAPSHOT_NAME_KEY, problems),
                completed=get_date(item_fields, COMPLETION_DATE_KEY, problems),
            )
        )
    return SnapshotHistory(tuple(entries), tuple(problems))
