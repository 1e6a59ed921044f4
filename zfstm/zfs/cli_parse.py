"""Parsers for the zfs command's scripted output (``-H``: tab-separated, no header; ``-p``: exact numbers).

Pure functions from text to values, so the CLI backend's reading of ZFS is unit-tested without ZFS.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime

from zfstm.errors import ZfsError
from zfstm.zfs.names import SnapshotName
from zfstm.zfs.types import BookmarkInfo, SnapshotInfo, SnapshotProperty

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


def _rows(output: str, width: int, command: str) -> Iterator[tuple[str, list[str]]]:
    """The non-empty lines of scripted (``-H``) output with their tab-separated fields; ``width`` fields each."""
    for line in output.split("\n"):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != width:
            raise ZfsError(f"expected {width} columns in {command} output, got {line!r}", operation=command.split()[1])
        yield line, fields


def snapshot_columns(properties: Sequence[SnapshotProperty]) -> list[str]:
    """The ``-o`` columns for a listing: the fast three, then the slow ones asked for."""
    return ["name", "guid", "createtxg", *(p.value for p in properties)]


def _snapshot_info(
    fields: Sequence[str], properties: Sequence[SnapshotProperty], user_props: Mapping[str, str], line: str
) -> SnapshotInfo:
    """One listing line's fields (name, guid, createtxg, then the slow columns) as a SnapshotInfo."""
    slow = dict(zip(properties, fields[3 : 3 + len(properties)], strict=True))

    def number(prop: SnapshotProperty) -> int | None:
        return _optional_int(slow[prop], prop.value, line) if prop in slow else None

    creation = slow.get(SnapshotProperty.CREATION)
    return SnapshotInfo(
        name=SnapshotName.parse(fields[0]),
        guid=_int(fields[1], "guid", line),
        createtxg=_int(fields[2], "createtxg", line),
        creation=epoch_to_utc(creation, line) if creation is not None else None,
        used=number(SnapshotProperty.USED),
        referenced=number(SnapshotProperty.REFERENCED),
        written=number(SnapshotProperty.WRITTEN),
        userrefs=number(SnapshotProperty.USERREFS),
        user_props=user_props,
    )


def parse_snapshot_list(
    output: str,
    properties: Sequence[SnapshotProperty],
    user_props: dict[SnapshotName, dict[str, str]] | None = None,
) -> list[SnapshotInfo]:
    """``zfs list -H -p -o name,guid,createtxg[,slow...]`` lines as SnapshotInfo, sorted by createtxg."""
    infos = []
    for line, fields in _rows(output, 3 + len(properties), "zfs list"):
        infos.append(
            _snapshot_info(fields, properties, (user_props or {}).get(SnapshotName.parse(fields[0]), {}), line)
        )
    infos.sort(key=lambda info: info.createtxg)
    return infos


#: One dataset's part of a batched listing: its snapshots and its bookmarks, oldest first.
Listed = tuple[list[SnapshotInfo], list[BookmarkInfo]]


def parse_many(
    output: str, properties: Sequence[SnapshotProperty], user_props: Sequence[str], datasets: Sequence[str]
) -> dict[str, Listed]:
    """``zfs list -t snapshot,bookmark -o name,guid,createtxg[,slow...][,user...]`` over several datasets.

    Lines are grouped by dataset (every one of ``datasets`` gets an entry); a user property column's ``-`` is unset.
    A bookmark's slow and user columns are ``-`` and ignored. A line of any other dataset is an error.
    """
    found: dict[str, Listed] = {name: ([], []) for name in datasets}
    for line, fields in _rows(output, 3 + len(properties) + len(user_props), "zfs list"):
        dataset, mark, _ = fields[0].partition("#")
        if not mark:
            dataset = fields[0].partition("@")[0]
        if dataset not in found:
            raise ZfsError(f"unexpected dataset in zfs list output line {line!r}", operation="list")
        if mark:
            found[dataset][1].append(
                BookmarkInfo(fields[0], _int(fields[1], "guid", line), _int(fields[2], "createtxg", line))
            )
            continue
        user = {p: v for p, v in zip(user_props, fields[3 + len(properties) :], strict=True) if v != UNSET}
        found[dataset][0].append(_snapshot_info(fields, properties, user, line))
    for snapshots, bookmarks in found.values():
        snapshots.sort(key=lambda info: info.createtxg)
        bookmarks.sort(key=lambda info: (info.createtxg, info.name))
    return found


#: Property values of several names from one ``zfs get``: name -> property -> (value or None, source).
Sourced = dict[str, dict[str, tuple[str | None, str]]]


def parse_get_many(output: str) -> Sourced:
    """``zfs get -H -p -o name,property,value,source`` lines; a value is None when unset (value and source ``-``)."""
    found: Sourced = {}
    for line in output.split("\n"):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise ZfsError(f"expected 4 columns in zfs get output, got {line!r}", operation="get")
        name, prop, value, source = fields
        found.setdefault(name, {})[prop] = (None if value == UNSET and source == UNSET else value, source)
    return found


def parse_snapshot_infos(
    output: str, properties: Sequence[SnapshotProperty], user_props: Sequence[str]
) -> dict[SnapshotName, SnapshotInfo]:
    """``zfs get -H -p -o name,property,value,source guid,createtxg[,slow...][,user...] snap...`` as SnapshotInfo by
    name: the columns a listing would have, own user properties only (local or received, never inherited)."""
    found: dict[SnapshotName, SnapshotInfo] = {}
    for name, values in parse_get_many(output).items():
        if "@" not in name:
            raise ZfsError(f"unexpected non-snapshot {name!r} in zfs get output", operation="get")
        columns = ["guid", "createtxg", *(p.value for p in properties)]
        if any(column not in values for column in columns):
            raise ZfsError(f"zfs get output lacks a property of {name!r}", operation="get")
        fields = [name, *(values[column][0] or UNSET for column in columns)]
        own = {
            prop: value
            for prop in user_props
            for value, source in [values.get(prop, (None, UNSET))]
            if value is not None and source in OWN_SOURCES
        }
        info = _snapshot_info(fields, properties, own, "\t".join(fields))
        found[info.name] = info
    return found


def parse_snapshot_user_props(output: str) -> dict[SnapshotName, dict[str, str]]:
    """``zfs get -H -p -o name,property,value,source`` lines: the user properties set on each snapshot."""
    found: dict[SnapshotName, dict[str, str]] = {}
    for name, props in parse_get_many(output).items():
        own = {prop: value for prop, (value, source) in props.items() if source in OWN_SOURCES and value is not None}
        if "@" in name and own:
            found[SnapshotName.parse(name)] = own
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
