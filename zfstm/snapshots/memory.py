"""Remember each dataset's listing between ticks, so that a tick over many targets lists only the datasets that changed.

Why: listing a dataset's snapshots with their properties opens every snapshot; over 100 targets of 100 snapshots
that one listing is most of a tick (docs/benchmarks.md). A dataset's ``snapshots_changed`` (OpenZFS 2.2 and later)
moves whenever a snapshot is created or destroyed there, and it is read with the datasets' own properties (one
``zfs get`` per pool, no snapshot opened). While it stands still, zfstm has not acted on the dataset, and the
listing is younger than ``[backend] remember`` (default 0: off; e.g. 1 day), the remembered listing is the
listing. What it cannot see (a hold placed or a property set by hand since) never leads to a destroy: every snapshot
a tick would destroy from a remembered listing is read again first (``_Run.confirm`` in zfstm.lifecycle.tick, with
:func:`unchanged`), and one that changed is kept and its dataset listed again at the next tick.

The file (``listings.json`` in the state directory) is only trusted when the effective user owns it and nobody else
may write it, so a root ``zfstm run`` never acts on what a service account wrote. A file that does not parse is
ignored: the tick lists everything. Where ZFS has no ``snapshots_changed`` (illumos, OpenZFS before 2.2) nothing
is remembered.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from zfstm.atomicfile import write_atomically
from zfstm.errors import ZfstmError
from zfstm.zfs import DatasetName, SnapshotName
from zfstm.zfs.types import BookmarkInfo, DatasetListing, SnapshotInfo

log = logging.getLogger("zfstm.snapshots")

#: The dataset property that moves when a snapshot of the dataset is created or destroyed (epoch seconds).
SNAPSHOTS_CHANGED = "snapshots_changed"
#: The file in the state directory.
FILE_NAME = "listings.json"
FORMAT = 1
#: ``snapshots_changed`` counts whole seconds: a change this close to a read may share its stamp with a later change
#: the read did not see, so such a listing is not remembered.
SAME_STAMP = timedelta(seconds=2)
#: The largest file read (a listing of 50,000 snapshots is about 15 MB).
MAX_BYTES = 256 * 1024 * 1024


@attrs.frozen
class Remembered:
    """One dataset's snapshots and bookmarks as a tick listed them, their holds, and the stamp they go with."""

    listing: DatasetListing
    holds: Mapping[SnapshotName, frozenset[str]]
    stamp: int
    read_at: datetime


def trusted_stamp(value: str | None, read_at: datetime) -> int | None:
    """The ``snapshots_changed`` value a listing read at ``read_at`` may be remembered with, or None (unset, not a
    number, in the future, or too close to the read)."""
    if value is None or not value.isdigit():
        return None
    stamp = int(value)
    return stamp if stamp <= (read_at - SAME_STAMP).timestamp() else None


def recall(remembered: Remembered | None, stamp: str | None, now: datetime, remember: timedelta) -> Remembered | None:
    """``remembered`` when it still is the dataset's listing: the same stamp, read less than ``remember`` ago, and
    the clock has not gone back since (pure)."""
    if remembered is None or stamp is None or not stamp.isdigit() or int(stamp) != remembered.stamp:
        return None
    age = now - remembered.read_at
    return remembered if timedelta(0) <= age < remember else None


def unchanged(remembered: SnapshotInfo, fresh: SnapshotInfo | None, holds: frozenset[str]) -> bool:
    """True when a snapshot read again is the one remembered, as far as a destroy is concerned (pure): the same
    snapshot (guid), the same own ``zfstm:*`` properties, and no hold now (a destroy is only planned without one)."""
    return (
        fresh is not None
        and fresh.guid == remembered.guid
        and dict(fresh.user_props) == dict(remembered.user_props)
        and not fresh.userrefs
        and not holds
    )


# -- the file (pure encoding) --------------------------------------------------------------------------------------


def encode(entries: Mapping[str, Remembered]) -> str:
    return json.dumps({"format": FORMAT, "datasets": {name: _entry(r) for name, r in sorted(entries.items())}})


def _entry(r: Remembered) -> dict[str, Any]:
    return {
        "stamp": r.stamp,
        "read_at": r.read_at.timestamp(),
        "snapshots": [
            [
                i.name.short,
                i.guid,
                i.createtxg,
                None if i.creation is None else int(i.creation.timestamp()),
                i.used,
                i.referenced,
                i.userrefs,
                dict(i.user_props),
                sorted(r.holds.get(i.name, ())),
            ]
            for i in r.listing.snapshots
        ],
        "bookmarks": [[b.short, b.guid, b.createtxg] for b in r.listing.bookmarks],
    }


def decode(text: str) -> dict[str, Remembered]:
    """The remembered listings in ``text``; a dataset whose entry does not check out is left out (pure)."""
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    if (
        not isinstance(document, dict)
        or document.get("format") != FORMAT
        or not isinstance(document.get("datasets"), dict)
    ):
        return {}
    found: dict[str, Remembered] = {}
    for name, entry in document["datasets"].items():
        try:
            found[name] = _remembered(DatasetName(name), entry)
        except (TypeError, ValueError, KeyError, OverflowError, OSError, ZfstmError) as exc:
            log.debug("ignoring the remembered listing of %r: %s", name, exc)
    return found


def _int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"not a count: {value!r}")
    return value


def _maybe_int(value: object) -> int | None:
    return None if value is None else _int(value)


def _strings(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError("properties must map strings to strings")
    return dict(value)


def _remembered(dataset: DatasetName, entry: Any) -> Remembered:
    snapshots: list[SnapshotInfo] = []
    holds: dict[SnapshotName, frozenset[str]] = {}
    for short, guid, createtxg, creation, used, referenced, userrefs, props, tags in entry["snapshots"]:
        if not isinstance(short, str) or not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError("malformed snapshot entry")
        name = dataset.snapshot(short)
        snapshots.append(
            SnapshotInfo(
                name=name,
                guid=_int(guid),
                createtxg=_int(createtxg),
                creation=None if creation is None else datetime.fromtimestamp(_int(creation), tz=UTC),
                used=_maybe_int(used),
                referenced=_maybe_int(referenced),
                userrefs=_maybe_int(userrefs),
                user_props=_strings(props),
            )
        )
        if tags:
            holds[name] = frozenset(tags)
    bookmarks = []
    for short, guid, createtxg in entry["bookmarks"]:
        if not isinstance(short, str) or "#" in short or "@" in short or "/" in short:
            raise ValueError("malformed bookmark entry")
        bookmarks.append(BookmarkInfo(f"{dataset.full}#{short}", _int(guid), _int(createtxg)))
    snapshots.sort(key=lambda info: info.createtxg)
    read_at = entry["read_at"]
    if not isinstance(read_at, (int, float)) or isinstance(read_at, bool):
        raise TypeError("malformed read_at")
    return Remembered(
        DatasetListing(dataset, tuple(snapshots), tuple(bookmarks)),
        holds,
        _int(entry["stamp"]),
        datetime.fromtimestamp(read_at, tz=UTC),
    )


# -- the shell -----------------------------------------------------------------------------------------------------


@attrs.define
class Memory:
    """One tick's use of the file: what it recalled, what it read afresh, which datasets it acted on.

    Loaded before the listing, handed to the reader (zfstm.snapshots.reader) and the tick (zfstm.lifecycle.tick),
    saved after the tick. ``path`` None remembers within this process only (tests)."""

    path: Path | None
    remember: timedelta
    known: dict[str, Remembered] = attrs.Factory(dict)
    #: Datasets whose listing this tick took from memory (their doomed snapshots are read again before a destroy).
    recalled: dict[str, Remembered] = attrs.Factory(dict)
    #: Datasets listed afresh this tick, with a stamp that may be remembered.
    fresh: dict[str, Remembered] = attrs.Factory(dict)
    #: Datasets the tick created, destroyed, held, released or marked snapshots on (or failed on): not remembered.
    touched: set[str] = attrs.Factory(set)
    #: False once ZFS has shown it has no ``snapshots_changed``: this process lists as if nothing were remembered.
    usable: bool = True

    @classmethod
    def load(cls, state_dir: Path | None, remember: timedelta) -> Memory | None:
        """The memory in ``state_dir`` (empty when there is none or it is not trusted); None when ``remember`` is 0."""
        if remember <= timedelta(0):
            return None
        if state_dir is None:
            return cls(None, remember)
        path = state_dir / FILE_NAME
        return cls(path, remember, read_trusted(path))

    def recall(self, dataset: str, stamp: str | None, now: datetime) -> Remembered | None:
        found = recall(self.known.get(dataset), stamp, now, self.remember)
        if found is not None:
            self.recalled[dataset] = found
        return found

    def keep(self, dataset: str, remembered: Remembered) -> None:
        self.fresh[dataset] = remembered

    def touch(self, datasets: Iterable[str]) -> None:
        self.touched.update(datasets)

    def entries(self) -> dict[str, Remembered]:
        """What a later tick may recall: this tick's datasets, recalled or read afresh, that it did not act on."""
        return {name: entry for name, entry in {**self.recalled, **self.fresh}.items() if name not in self.touched}

    def save(self) -> None:
        entries = self.entries()
        self.known = dict(entries)
        if self.path is None or not self.usable:
            return
        try:
            write_atomically(self.path, encode(entries) + "\n", mode=0o600)
        except OSError as exc:
            log.warning("cannot remember the listings in %s (%s); the next tick lists everything", self.path, exc)


def forget(state_dir: Path | None) -> None:
    """Remove the remembered listings before anything acts (a tick, `zfstm prune`, `zfstm rollback`): a process
    killed half way leaves nothing stale, and no tick recalls a hold or property that was moved without it."""
    if state_dir is not None:
        _remove(state_dir / FILE_NAME)


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot remove %s (%s); the next tick may list from an older memory", path, exc)


def read_trusted(path: Path) -> dict[str, Remembered]:
    """The remembered listings in ``path`` if this user owns it and only this user may write it; else none."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        log.warning("not reading the remembered listings %s (%s); listing everything", path, exc)
        return {}
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
            log.warning(
                "not trusting the remembered listings %s: not a file owned by uid %d and writable by it alone; "
                "listing everything",
                path,
                os.geteuid(),
            )
            return {}
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        log.warning("the remembered listings %s are larger than %d bytes; listing everything", path, MAX_BYTES)
        return {}
    return decode(data.decode("utf-8", errors="replace"))
