"""Typed ZFS names: datasets, snapshots, hold tags and user property names, validated to ZFS's own rules.

Why validate here when ZFS validates too: a bad name should fail before anything runs, with a message that says
what is wrong (ZFS's CLI says "invalid character" and little else, libzfs_core says EINVAL), and both backends then
see only names they can pass on safely (the CLI joins snapshot short names with ',' and reads '%' as a range).

The rules follow OpenZFS 2.3 ``module/zcommon/zfs_namecheck.c`` (``entity_namecheck``, ``pool_namecheck``):

- a full name is at most 255 characters (``ZFS_MAX_DATASET_NAME_LEN`` is 256 and counts the terminating NUL);
- components are separated by '/', are never empty, never '.' or '..', and use only ``[A-Za-z0-9_.: -]``
  (space included). ZFS also accepts '%' in datasets (its own temporary receive clones); zfstm refuses it because
  ``zfs destroy fs@a%b`` reads '%' as a snapshot range;
- the pool (first component) starts with a letter and is not ``mirror``, ``raidz`` or ``draid``;
- a dataset nests at most 49 levels below its pool (``zfs_max_dataset_nesting`` is 50);
- a snapshot name has exactly one '@'; '#' belongs to bookmarks and is refused in both.

Hold tags are free text for ZFS (the kernel only refuses tags longer than 256 bytes); zfstm keeps them printable and
free of tabs and newlines so that ``zfs holds -H`` output stays parseable, and at most 255 characters.
"""

from __future__ import annotations

import re
from typing import Self

import attrs

from zfstm.errors import InvalidName

#: Longest full dataset or snapshot name (ZFS_MAX_DATASET_NAME_LEN 256 minus the NUL).
MAX_NAME_LEN = 255
#: Longest pool name: ZFS keeps room for "<pool>/$ORIGIN@$ORIGIN" (256 - 2 - 2 * len("$ORIGIN") - NUL).
MAX_POOL_NAME_LEN = 239
#: Deepest nesting below the pool (zfs_max_dataset_nesting = 50, counted as the number of '/').
MAX_NESTING = 49
#: Longest hold tag zfstm accepts (the kernel refuses > 256; 255 keeps it in line with names).
MAX_HOLD_TAG_LEN = 255
#: Longest user property name (ZAP_MAXNAMELEN 256 minus the NUL).
MAX_USER_PROPERTY_LEN = 255

_COMPONENT_CHARS = re.compile(r"[A-Za-z0-9_.: -]*")
_RESERVED_POOLS = frozenset({"mirror", "raidz", "draid"})
_USER_PROPERTY = re.compile(r"[a-z0-9_.:+-]+")


def _describe_bad_char(text: str, kind: str) -> str | None:
    """Say which character breaks the rules, or None when all are allowed."""
    if _COMPONENT_CHARS.fullmatch(text):  # the common case in one match (a listing checks every name)
        return None
    for index, char in enumerate(text):
        if not _COMPONENT_CHARS.fullmatch(char):
            shown = repr(char)
            hint = ""
            if char == "%":
                hint = " ('%' is reserved by ZFS for temporary clones and snapshot ranges)"
            elif char == "#":
                hint = " ('#' separates bookmark names)"
            elif char == "@":
                hint = " ('@' separates a snapshot name from its dataset, and may appear only once)"
            return (
                f"{kind} contains {shown} at position {index}{hint}; "
                "allowed are letters A-Z a-z, digits, '_', '-', '.', ':' and space"
            )
    return None


def _check_component(component: str, full: str, kind: str) -> None:
    if component == "":
        raise InvalidName(f"{kind} has an empty component (doubled, leading or trailing '/' or '@')", dataset=full)
    if component in {".", ".."}:
        raise InvalidName(f"{kind} has a component {component!r}, which ZFS refuses", dataset=full)
    problem = _describe_bad_char(component, kind)
    if problem is not None:
        raise InvalidName(problem, dataset=full)


def validate_dataset_name(full: str) -> None:
    """Raise InvalidName unless ``full`` is a valid filesystem/volume name (pool, optionally /child...)."""
    if not full:
        raise InvalidName("dataset name is empty")
    if len(full) > MAX_NAME_LEN:
        raise InvalidName(
            f"dataset name is {len(full)} characters long; ZFS allows at most {MAX_NAME_LEN}", dataset=full[:60] + "..."
        )
    if "@" in full:
        raise InvalidName("a dataset name must not contain '@' (that makes it a snapshot name)", dataset=full)
    if full.startswith("/"):
        raise InvalidName("a dataset name starts with its pool, not with '/'", dataset=full)
    components = full.split("/")
    for component in components:
        _check_component(component, full, "dataset name")
    pool = components[0]
    if len(pool) > MAX_POOL_NAME_LEN:
        raise InvalidName(f"pool name is longer than {MAX_POOL_NAME_LEN} characters", dataset=full)
    if not pool[0].isascii() or not pool[0].isalpha():
        raise InvalidName(f"pool name {pool!r} must start with a letter", dataset=full)
    if pool in _RESERVED_POOLS:
        raise InvalidName(f"pool name {pool!r} is reserved by ZFS", dataset=full)
    if len(components) - 1 > MAX_NESTING:
        raise InvalidName(
            f"dataset is nested {len(components) - 1} levels deep; ZFS allows {MAX_NESTING}", dataset=full
        )


def validate_snapshot_short(short: str, dataset: str = "") -> None:
    """Raise InvalidName unless ``short`` (the part after '@') is a valid snapshot name."""
    if short == "":
        raise InvalidName("snapshot name after '@' is empty", dataset=dataset)
    problem = _describe_bad_char(short, "snapshot name")
    if problem is not None:
        raise InvalidName(problem, dataset=f"{dataset}@{short}" if dataset else short)


@attrs.frozen(order=True)
class DatasetName:
    """A filesystem or volume name such as ``tank/tm/alice`` (never a snapshot)."""

    full: str = attrs.field()

    @full.validator
    def _check(self, _attribute: attrs.Attribute[str], value: str) -> None:
        validate_dataset_name(value)

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse and validate; InvalidName says what is wrong."""
        return cls(text)

    @property
    def pool(self) -> str:
        """The pool the dataset lives in: the first component."""
        return self.full.split("/", 1)[0]

    @property
    def parent(self) -> DatasetName | None:
        """The dataset one level up, or None for a pool's root dataset."""
        head, sep, _ = self.full.rpartition("/")
        return DatasetName(head) if sep else None

    @property
    def basename(self) -> str:
        """The last component."""
        return self.full.rpartition("/")[2]

    def child(self, relative: str) -> DatasetName:
        """The dataset ``relative`` (which may contain '/') below this one."""
        return DatasetName(f"{self.full}/{relative}")

    def snapshot(self, short: str) -> SnapshotName:
        """The snapshot ``self@short``."""
        return SnapshotName(self, short)

    def is_ancestor_of(self, other: DatasetName) -> bool:
        """True when ``other`` lies strictly below this dataset."""
        return other.full.startswith(self.full + "/")

    def __str__(self) -> str:
        return self.full


@attrs.frozen(order=True)
class SnapshotName:
    """A snapshot: its dataset plus the short name after '@' (``tank/tm@2024-05-01T10:00Z``)."""

    dataset: DatasetName
    short: str = attrs.field()

    @short.validator
    def _check(self, _attribute: attrs.Attribute[str], value: str) -> None:
        validate_snapshot_short(value, self.dataset.full)
        full = f"{self.dataset.full}@{value}"
        if len(full) > MAX_NAME_LEN:
            raise InvalidName(
                f"snapshot name is {len(full)} characters long; ZFS allows at most {MAX_NAME_LEN} "
                "for dataset, '@' and snapshot name together",
                dataset=full[:60] + "...",
            )

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse ``dataset@short``; exactly one '@' is required."""
        if text.count("@") != 1:
            what = "has no '@'" if "@" not in text else f"has {text.count('@')} '@' characters"
            raise InvalidName(f"snapshot name {what}; expected exactly one, as in pool/fs@name", dataset=text)
        dataset, _, short = text.partition("@")
        return cls(DatasetName(dataset), short)

    @property
    def full(self) -> str:
        """``dataset@short``, as ZFS prints it."""
        return f"{self.dataset.full}@{self.short}"

    @property
    def pool(self) -> str:
        """The pool of the snapshot's dataset."""
        return self.dataset.pool

    def __str__(self) -> str:
        return self.full


#: Anything ZFS can name and zfstm can address: a dataset or a snapshot.
ZfsName = DatasetName | SnapshotName


def parse_name(text: str) -> ZfsName:
    """A SnapshotName when ``text`` contains '@', else a DatasetName."""
    return SnapshotName.parse(text) if "@" in text else DatasetName.parse(text)


@attrs.frozen(order=True)
class HoldTag:
    """A user hold tag (``zfs hold <tag> <snapshot>``): a reason a snapshot must not be destroyed."""

    value: str = attrs.field()

    @value.validator
    def _check(self, _attribute: attrs.Attribute[str], value: str) -> None:
        if value == "":
            raise InvalidName("hold tag is empty")
        if len(value) > MAX_HOLD_TAG_LEN:
            raise InvalidName(f"hold tag is {len(value)} characters long; at most {MAX_HOLD_TAG_LEN} are allowed")
        if not value.isprintable():
            raise InvalidName(f"hold tag {value!r} contains a control character (tab, newline...)")
        if value.startswith("-"):
            raise InvalidName(f"hold tag {value!r} starts with '-', which the zfs command would read as an option")

    def __str__(self) -> str:
        return self.value


def validate_user_property(name: str) -> None:
    """Raise InvalidName unless ``name`` is a ZFS user property name (``module:property``, lower case)."""
    if ":" not in name:
        raise InvalidName(f"user property {name!r} needs a ':' (as in 'zfstm:label') to tell it from native ones")
    if len(name) > MAX_USER_PROPERTY_LEN:
        raise InvalidName(f"user property name is longer than {MAX_USER_PROPERTY_LEN} characters")
    if not _USER_PROPERTY.fullmatch(name):
        raise InvalidName(f"user property {name!r} may only use lower-case letters, digits and ':', '+', '.', '_', '-'")
