"""Argument lists for the zfs command, as pure functions: what the CLI backend runs, testable without ZFS.

Every builder returns ``["zfs", ...]``; the runner adds a command prefix (ssh, runuser) and quoting where the prefix
needs it. Options always come before names, and no name can start with '-' (pools start with a letter, hold tags
are refused with a leading '-'), so nothing here can be read as an option.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from zfstm.zfs.names import DatasetName, HoldTag, SnapshotName, ZfsName

ZFS = "zfs"

#: Columns `zfs list` reads without opening each snapshot (OpenZFS >= 2.2): the fast listing.
FAST_SNAPSHOT_COLUMNS = ("name", "guid", "createtxg")


def _options(props: Mapping[str, str] | None) -> list[str]:
    argv: list[str] = []
    for prop, value in (props or {}).items():
        argv += ["-o", f"{prop}={value}"]
    return argv


def snapshot(names: Sequence[SnapshotName], user_props: Mapping[str, str] | None = None) -> list[str]:
    """``zfs snapshot [-o p=v]... a@s b@s``: one lzc_snapshot call, atomic across the names."""
    return [ZFS, "snapshot", *_options(user_props), *(n.full for n in names)]


def destroy_snapshots(dataset: DatasetName, shorts: Sequence[str]) -> list[str]:
    """``zfs destroy fs@a,b,c``: one lzc_destroy_snaps call for snapshots of one dataset."""
    return [ZFS, "destroy", f"{dataset.full}@{','.join(shorts)}"]


def destroy_dry_run(dataset: DatasetName, shorts: Sequence[str]) -> list[str]:
    """``zfs destroy -nvp fs@a,b,c``: destroys nothing, prints a ``reclaim`` line for the whole set."""
    return [ZFS, "destroy", "-nvp", f"{dataset.full}@{','.join(shorts)}"]


def destroy_argument_size(name: SnapshotName) -> int:
    """Characters ``name`` adds to a destroy_snapshots argument (its short name and a comma)."""
    return len(name.short.encode()) + 1


def hold(tag: HoldTag, names: Sequence[SnapshotName]) -> list[str]:
    """``zfs hold tag snap...``: one lzc_hold call."""
    return [ZFS, "hold", tag.value, *(n.full for n in names)]


def release(tag: HoldTag, names: Sequence[SnapshotName]) -> list[str]:
    """``zfs release tag snap...``: one lzc_release call."""
    return [ZFS, "release", tag.value, *(n.full for n in names)]


def holds(snapshots: Sequence[SnapshotName]) -> list[str]:
    """``zfs holds -H -p snap...``: tab-separated name, tag, epoch seconds; fails if a snapshot is missing."""
    return [ZFS, "holds", "-H", "-p", *(n.full for n in snapshots)]


def rollback(snapshot: SnapshotName) -> list[str]:
    """``zfs rollback snap`` without -r: ZFS itself refuses when newer snapshots exist."""
    return [ZFS, "rollback", snapshot.full]


def list_snapshots(dataset: DatasetName, columns: Iterable[str] = FAST_SNAPSHOT_COLUMNS) -> list[str]:
    """``zfs list`` of the dataset's own snapshots (depth 1), oldest first, parsable numbers, no header."""
    return [ZFS, "list", "-H", "-p", "-t", "snapshot", "-o", ",".join(columns), "-s", "createtxg", "-d", "1",
            dataset.full]  # fmt: skip


def list_many(datasets: Sequence[DatasetName], columns: Iterable[str]) -> list[str]:
    """``zfs list`` of several datasets' own snapshots and bookmarks (depth 1 each) in one process, oldest first."""
    return [ZFS, "list", "-H", "-p", "-t", "snapshot,bookmark", "-o", ",".join(columns), "-s", "createtxg", "-d",
            "1", *(d.full for d in datasets)]  # fmt: skip


def get_many(names: Sequence[ZfsName], props: Sequence[str]) -> list[str]:
    """``zfs get -H -p -o name,property,value,source props name...``: several datasets in one process."""
    return [ZFS, "get", "-H", "-p", "-o", "name,property,value,source", ",".join(props), *(n.full for n in names)]


def name_argument_size(name: ZfsName) -> int:
    """Characters ``name`` adds to an argument list (itself and a separator)."""
    return len(name.full.encode()) + 1


def get_snapshot_user_props(dataset: DatasetName, props: Sequence[str]) -> list[str]:
    """``zfs get`` of user properties on every snapshot of ``dataset`` (one call, with the source column)."""
    return [ZFS, "get", "-H", "-p", "-t", "snapshot", "-d", "1", "-o", "name,property,value,source",
            ",".join(props), dataset.full]  # fmt: skip


def get(name: ZfsName, props: Sequence[str]) -> list[str]:
    """``zfs get -H -p -o property,value,source props name``."""
    return [ZFS, "get", "-H", "-p", "-o", "property,value,source", ",".join(props), name.full]


def local_properties(dataset: DatasetName) -> list[str]:
    """``zfs get`` of every property whose source is local or received: property and raw value per line."""
    return [ZFS, "get", "-H", "-p", "-s", "local,received", "-o", "property,value", "all", dataset.full]


def child_datasets(dataset: DatasetName) -> list[str]:
    """``zfs list`` of ``dataset`` and the filesystems and volumes directly below it (depth 1 is enough to tell)."""
    return [ZFS, "list", "-H", "-o", "name", "-t", "filesystem,volume", "-d", "1", dataset.full]


def set_property(name: ZfsName, prop: str, value: str) -> list[str]:
    """``zfs set prop=value name``."""
    return [ZFS, "set", f"{prop}={value}", name.full]


def create_filesystem(name: DatasetName, props: Mapping[str, str] | None = None) -> list[str]:
    """``zfs create [-o p=v]... name`` (mounts it, unlike lzc_create)."""
    return [ZFS, "create", *_options(props), name.full]


def create_volume(name: DatasetName, size: int, props: Mapping[str, str] | None = None) -> list[str]:
    """``zfs create -V size [-o p=v]... name``."""
    return [ZFS, "create", "-V", str(size), *_options(props), name.full]


def clone(snapshot: SnapshotName, target: DatasetName, props: Mapping[str, str] | None = None) -> list[str]:
    """``zfs clone [-o p=v]... snap target``."""
    return [ZFS, "clone", *_options(props), snapshot.full, target.full]


def promote(dataset: DatasetName) -> list[str]:
    """``zfs promote clone``."""
    return [ZFS, "promote", dataset.full]


def rename(old: ZfsName, new: ZfsName) -> list[str]:
    """``zfs rename old new`` (datasets are unmounted and remounted by zfs itself)."""
    return [ZFS, "rename", old.full, new.full]


def exists(name: ZfsName) -> list[str]:
    """``zfs list -H -o name -t all name``: exit 0 when it exists."""
    return [ZFS, "list", "-H", "-o", "name", "-t", "all", name.full]


def destroy_dataset(name: DatasetName, *, recursive: bool = False) -> list[str]:
    """``zfs destroy [-r] fs``."""
    return [ZFS, "destroy", *(["-r"] if recursive else []), name.full]
