"""The ZFS user properties zfstm writes on each snapshot: what it knew when it took it, readable back later.

They make every snapshot self-describing (``zfs get all pool/tm@snap`` tells a person why it exists), and they are
where the known-good choice reads its facts from, so it survives restarts without a state file. ZFS requires user
property names to be lowercase letters, digits and ``-_.:`` with at least one ``:``, and values under 8192 bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

import attrs

from zfstm import __version__
from zfstm.snapshots import tags
from zfstm.timemachine.detector import Activity, ActivityState
from zfstm.timemachine.due import Trigger
from zfstm.timemachine.machineid import Verdict
from zfstm.timemachine.timefmt import aware, format_utc, parse_utc

#: The snapshot model's names (:mod:`zfstm.snapshots.tags`), for the code that writes and reads them.
MANAGED = tags.MANAGED
VERSION = tags.VERSION
TRIGGER = tags.TRIGGER
ACTIVITY = tags.ACTIVITY
ACTIVITY_REASON = tags.ACTIVITY_REASON
TM_COMPLETED = tags.TM_COMPLETED
TM_VERIFICATION = tags.TM_VERIFICATION
TM_VERIFICATION_DATE = tags.TM_VERIFICATION_DATE
YES = tags.YES
#: Stands for an unknown time: ZFS cannot hold an empty user property value.
NONE = "none"

#: ZFS_MAXPROPLEN is 8192 bytes including the terminating NUL.
MAX_VALUE_BYTES = 8191
#: ZAP_MAXNAMELEN is 256 bytes including the terminating NUL.
MAX_NAME_BYTES = 255
#: Reasons are for people; a short one fits every ``zfs list -o`` column and stays far below the limit.
MAX_REASON_BYTES = 1024

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_USER_PROPERTY = re.compile(r"[a-z0-9_.:-]*:[a-z0-9_.:-]*")


def is_user_property_name(name: str) -> bool:
    """Whether ZFS accepts ``name`` as a user property (lowercase, ``-_.:``, at least one ``:``)."""
    return len(name.encode()) <= MAX_NAME_BYTES and _USER_PROPERTY.fullmatch(name) is not None


def clip_value(text: str, limit: int = MAX_VALUE_BYTES) -> str:
    """A safe property value: control characters (NUL cannot pass argv, tabs and newlines break ``zfs get``
    output) become spaces, unencodable characters become ``?``, empty becomes ``none``, and the text is cut to
    ``limit`` UTF-8 bytes without splitting a character, an ellipsis marking the cut."""
    data = _CONTROL.sub(" ", text).encode(errors="replace")
    if not data:
        return NONE
    if len(data) <= limit:
        return data.decode()
    return data[: limit - 3].decode(errors="ignore") + "..."


def snapshot_properties(
    *,
    activity: Activity,
    verdict: Verdict,
    verification_date: datetime | None = None,
    trigger: Trigger | None = None,
    version: str = __version__,
) -> dict[str, str]:
    """The user properties to set on a snapshot taken now (``zfs snapshot -o key=value ...``)."""
    properties = {
        MANAGED: YES,
        VERSION: version,
        ACTIVITY: activity.state.value,
        ACTIVITY_REASON: activity.reason,
        TM_COMPLETED: NONE if activity.completed_at is None else format_utc(activity.completed_at),
        TM_VERIFICATION: verdict.value,
        TM_VERIFICATION_DATE: NONE if verification_date is None else format_utc(verification_date),
    }
    if trigger is not None:
        properties[TRIGGER] = trigger.value
    return {
        key: clip_value(value, MAX_REASON_BYTES) if key == ACTIVITY_REASON else clip_value(value)
        for key, value in properties.items()
    }


@attrs.frozen
class SnapshotRecord:
    """An existing snapshot as zfstm sees it: its name, creation time and what its properties say."""

    name: str
    created: datetime = attrs.field(validator=aware)
    managed: bool
    activity: ActivityState | None
    tm_completed: datetime | None = attrs.field(validator=aware)
    verdict: Verdict

    @property
    def after_verified_completion(self) -> bool:
        """Whether it was taken after a completed, quiet backup while Time Machine reported a healthy bundle."""
        return (
            self.managed
            and self.activity is ActivityState.COMPLETED_AND_QUIET
            and self.tm_completed is not None
            and self.verdict in (Verdict.OK, Verdict.NOT_APPLICABLE)
        )


def record_from_properties(name: str, created: datetime, properties: Mapping[str, str]) -> SnapshotRecord:
    """Read a snapshot's properties back; unknown or damaged values read as "not known", never as good."""
    activity_text = properties.get(ACTIVITY, "")
    verdict_text = properties.get(TM_VERIFICATION, "")
    return SnapshotRecord(
        name=name,
        created=created,
        managed=properties.get(MANAGED) == YES,
        activity=ActivityState(activity_text) if activity_text in ActivityState._value2member_map_ else None,
        tm_completed=parse_utc(properties.get(TM_COMPLETED, "")),
        verdict=Verdict(verdict_text) if verdict_text in Verdict._value2member_map_ else Verdict.UNKNOWN,
    )
