"""Parsers for the zfs command's scripted output (``-H``: tab-separated, no header; ``-p``: exact numbers).

Pure functions from text to values, so the CLI backend's reading of ZFS is unit-tested without ZFS.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from zfstm.errors import ZfsError
from zfstm.zfs.names import SnapshotName
from zfstm.zfs.types import SnapshotInfo, SnapshotProperty

#: How `zfs get`/`zfs list` show a value that is not set.
UNSET = "-"
#: Sources under which a user property counts as set on the snapshot itself.
OWN_SOURCES = frozenset({"local", "received"})


def _int(text: str, column: str, line: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ZfsError(f"unexpected {column} value {text!r} in zfs output line {line!r}", operation="list") from None


def _optional_int(text: str, column: str, line: str) -> int | None:
    return None if text == UNSET else _int(text, column, line)


def epoch_to_utc(seconds: str, line: str = "") -> datetime:
    """An epoch-seconds column (``-p``) as an aware UTC datetime; one outside years 1-9999 is a ZfsError."""
    value = _int(seconds, "time", line or seconds)
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ZfsError(f"time {value} out of range in zfs output line {line or seconds!r}", operation="list") from None


def snapshot_columns(properties: Sequence[SnapshotProperty]) -> list[str]:
    """The ``-o`` columns for a listing: the fast three, then the slow ones asked for."""
    return ["name", "guid", "createtxg", *(p.value for p in properties)]


def parse_snapshot_list(
    output: str,
    properties: Sequence[SnapshotProperty],
    user_props: dict[SnapshotName, dict[str, str]] | None = None,
) -> list[SnapshotInfo]:
    """``zfs list -H -p -o name,guid,createtxg[,slow...]`` lines as SnapshotInfo, sorted by createtxg."""
    infos = []
    width = 3 + len(properties)
    for line in output.split("\n"):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != width:
            raise ZfsError(f"expected {width} columns in zfs list output, got {line!r}", operation="list")
        name = SnapshotName.parse(fields[0])
        slow = dict(zip(properties, fields[3:], strict=True))
        creation = slow.get(SnapshotProperty.CREATION)
        infos.append(
            SnapshotInfo(
                name=name,
                guid=_int(fields[1], "guid", line),
                createtxg=_int(fields[2], "createtxg", line),
                creation=epoch_to_utc(creation, line) if creation is not None else None,
                used=_optional_int(slow[SnapshotProperty.USED], "used", line)
                if SnapshotProperty.USED in slow
                else None,
                referenced=(
                    _optional_int(slow[SnapshotProperty.REFERENCED], "referenced", line)
                    if SnapshotProperty.REFERENCED in slow
                    else None
                ),
                written=(
                    _optional_int(slow[SnapshotProperty.WRITTEN], "written", line)
                    if SnapshotProperty.WRITTEN in slow
                    else None
                ),
                userrefs=(
                    _optional_int(slow[SnapshotProperty.USERREFS], "userrefs", line)
                    if SnapshotProperty.USERREFS in slow
                    else None
                ),
                user_props=(user_props or {}).get(name, {}),
            )
        )
    infos.sort(key=lambda info: info.createtxg)
    return infos


def parse_snapshot_user_props(output: str) -> dict[SnapshotName, dict[str, str]]:
    """``zfs get -H -p -o name,property,value,source`` lines: the user properties set on each snapshot."""
    found: dict[SnapshotName, dict[str, str]] = {}
    for line in output.split("\n"):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise ZfsError(f"expected 4 columns in zfs get output, got {line!r}", operation="get")
        name, prop, value, source = fields
        if "@" not in name or source not in OWN_SOURCES:
            continue
        found.setdefault(SnapshotName.parse(name), {})[prop] = value
    return found


def parse_holds(output: str) -> dict[SnapshotName, dict[str, datetime]]:
    """``zfs holds -H -p`` lines (name, tag, epoch seconds) as snapshot -> tag -> UTC time."""
    holds: dict[SnapshotName, dict[str, datetime]] = {}
    for line in output.split("\n"):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ZfsError(f"expected 3 columns in zfs holds output, got {line!r}", operation="holds")
        holds.setdefault(SnapshotName.parse(fields[0]), {})[fields[1]] = epoch_to_utc(fields[2], line)
    return holds


def parse_get(output: str) -> dict[str, str | None]:
    """``zfs get -H -p -o property,value,source`` lines; None for unset values (value and source both '-')."""
    values: dict[str, str | None] = {}
    for line in output.split("\n"):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ZfsError(f"expected 3 columns in zfs get output, got {line!r}", operation="get")
        prop, value, source = fields
        values[prop] = None if value == UNSET and source == UNSET else value
    return values


def parse_local_properties(output: str) -> dict[str, str]:
    """``zfs get -H -p -o property,value`` lines as property -> value (a value may itself contain tabs)."""
    props: dict[str, str] = {}
    for line in output.split("\n"):
        if not line:
            continue
        prop, tab, value = line.partition("\t")
        if not tab:
            raise ZfsError(f"expected 2 columns in zfs get output, got {line!r}", operation="get")
        props[prop] = value
    return props


def parse_names(output: str) -> list[str]:
    """``zfs list -H -o name`` lines as names."""
    return [line for line in output.split("\n") if line]


def parse_reclaim(output: str) -> int | None:
    """The byte count of the ``reclaim`` line of ``zfs destroy -nvp``; None when there is none."""
    for line in output.split("\n"):
        fields = line.split()
        if len(fields) == 2 and fields[0] == "reclaim" and fields[1].isdigit():
            return int(fields[1])
    return None
