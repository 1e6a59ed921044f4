"""The values a rollback is planned from and the plan it becomes: facts in, ordered steps out.

Why steps are plain data (a kind, an id, string arguments): the journal stores them as JSON before anything runs,
so that a process started after a crash or a reboot reads back exactly the plan that was being executed, and the
state machine in :mod:`zfstm.rollback.machine` can decide what comes next from the journal alone.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from zfstm.config.model import FileServerKind
from zfstm.zfs.names import DatasetName


def _frozen(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _frozen_tags(value: Mapping[str, tuple[str, ...]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({k: tuple(v) for k, v in value.items()})


#: ``RollbackFacts.server`` of a volume target: its iSCSI export is taken offline and brought back like a file
#: server, and there is no mountpoint to check (zfstm.volume.control).
ISCSI = FileServerKind.ISCSI


class Mode(enum.StrEnum):
    """How the dataset gets back to the snapshot."""

    SWAP = "swap"  # clone + promote + swap names: the current state stays reachable (the default)
    DISCARD = "discard"  # destroy the newer snapshots in one batch, then roll back in place (--discard-newer)
    UNDO = "undo"  # swap back to the dataset kept by an earlier SWAP (--undo)


class CnidStrategy(enum.StrEnum):
    """How the Netatalk CNID database is brought into agreement with the rolled-back files."""

    PAIRED = "paired"  # the database rolls back with the data (its own dataset, same txg, or inside the share)
    REBUILD = "rebuild"  # zfstm writes the records of the rolled-back files: CNIDs from EAs and the live database
    RESCAN = "rescan"  # start netatalk, `dbd -f`: counter kept, CNIDs restored from the files' EA hints
    RESET = "reset"  # every file gets a new CNID above the counter: the last resort (CNIDs change, none is reused)
    NONE = "none"  # Samba or no file server: there is no CNID database


class StepKind(enum.StrEnum):
    """What one step does; :mod:`zfstm.rollback.execute` maps each kind to its action and its reverse."""

    STOP_SERVER = "stop-server"
    READ_COUNTER = "read-counter"
    CLONE = "clone"
    PROMOTE = "promote"
    RENAME = "rename"
    ROLLBACK = "rollback"
    RESET_CNID = "reset-cnid"  # in plans journaled by earlier versions only: delete cnid2.db
    REBUILD_CNID = "rebuild-cnid"
    RAISE_COUNTER = "raise-counter"
    START_SERVER = "start-server"
    RESCAN = "rescan"
    VERIFY = "verify"


#: Steps whose effect cannot be reversed; once one has run, a failure can only go forward (and say so).
IRREVERSIBLE = frozenset({StepKind.ROLLBACK, StepKind.RESET_CNID, StepKind.REBUILD_CNID})
#: Steps that need no reversal (they change nothing that matters, or only ever make things safer).
NO_REVERSE = frozenset(
    {StepKind.READ_COUNTER, StepKind.RAISE_COUNTER, StepKind.START_SERVER, StepKind.RESCAN, StepKind.VERIFY}
)


@attrs.frozen
class Step:
    """One journaled step. ``id`` is unique in its plan (and is what ZFSTM_ROLLBACK_FAIL_AFTER names)."""

    id: str
    kind: StepKind
    summary: str
    args: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen, hash=False)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind.value, "summary": self.summary, "args": dict(self.args)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Step:
        return cls(
            id=str(data["id"]),
            kind=StepKind(data["kind"]),
            summary=str(data["summary"]),
            args={str(k): str(v) for k, v in dict(data.get("args", {})).items()},
        )


@attrs.frozen
class DatasetFacts:
    """What the planner needs to know about one dataset (data or CNID database)."""

    name: DatasetName
    mountpoint: str
    #: Properties set on the dataset itself (source local or received): a clone must be given them explicitly.
    local_props: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen, hash=False)
    #: Snapshots oldest first: (short name, createtxg).
    snapshots: tuple[tuple[str, int], ...] = ()
    #: User holds per snapshot short name (only snapshots that have any).
    holds: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict, converter=_frozen_tags, hash=False)
    has_children: bool = False
    origin: str | None = None
    #: ``zfstm:rollback-before`` on the dataset: the dataset an earlier rollback kept (for --undo).
    rollback_before: str | None = None
    #: Bookmarks oldest first: (short name after '#', createtxg). zfstm never destroys one (zfstm.zfs.bookmarks).
    bookmarks: tuple[tuple[str, int], ...] = ()

    def createtxg(self, short: str) -> int | None:
        return next((txg for name, txg in self.snapshots if name == short), None)

    def newer_than(self, short: str) -> tuple[str, ...]:
        txg = self.createtxg(short)
        return () if txg is None else tuple(name for name, t in self.snapshots if t > txg)

    def bookmarks_newer_than(self, short: str) -> tuple[str, ...]:
        """Bookmarks of a later snapshot than ``short``: they block a rollback in place (ZFS refuses it)."""
        txg = self.createtxg(short)
        return () if txg is None else tuple(name for name, t in self.bookmarks if t > txg)


@attrs.frozen
class CnidFacts:
    """The Netatalk side: the volume's database directory and settings, and who else shares the CNID dataset."""

    volume: str
    db_dir: str
    cnid_dev: bool
    scheme: str = "dbd"
    #: Other volumes (of any target) whose .AppleDB lives on the same CNID dataset: a paired rollback would
    #: roll their databases back too.
    others_on_cnid_dataset: tuple[str, ...] = ()
    platform: str = "linux"
    #: cnid2.db is in db_dir now (a database that is not where zfstm looks must stop the rollback, not pass)
    db_exists: bool = True
    #: how db_dir was derived (netatalk version, `$v` case, symlinks and `..` resolved), for the plan to show
    derived: str = ""


@attrs.frozen
class RollbackRequest:
    """What the administrator asked for."""

    target: str
    to: str | None = None  # snapshot short name (or full name) with --to
    last_good: bool = False
    mode: Mode = Mode.SWAP
    strategy: CnidStrategy | None = None  # force a strategy (None: choose automatically)


@attrs.frozen
class RollbackFacts:
    """Everything the planner reads; gathered by :mod:`zfstm.rollback.facts` (shell) or built by tests."""

    target: str
    server: FileServerKind
    server_name: str
    data: DatasetFacts
    cnid_dataset: DatasetFacts | None = None
    cnid: CnidFacts | None = None
    known_good: tuple[str, ...] = ()  # short names carrying the zfstm-known-good hold
    stamp: str = "19700101T000000Z"  # UTC time of the plan, used in new dataset names
    journal_on_tmpfs: bool = False
    #: For --undo: facts of the dataset the earlier rollback kept (and of its CNID twin).
    before: DatasetFacts | None = None
    cnid_before: DatasetFacts | None = None
    #: The target is a replica (config ``replica = true``): replication owns its history, zfstm never rolls it back.
    replica: bool = False


@attrs.frozen
class RollbackPlan:
    """The whole decision, printable before anything is touched, and stored first in the journal."""

    target: str
    mode: Mode
    dataset: str
    snapshot: str | None
    cnid_snapshot: str | None
    strategy: CnidStrategy
    strategy_reason: str
    server: str
    newer: tuple[str, ...]
    newer_held: Mapping[str, tuple[str, ...]] = attrs.field(converter=_frozen_tags, hash=False)
    kept_as: str | None = None
    cnid_kept_as: str | None = None
    steps: tuple[Step, ...] = ()
    warnings: tuple[str, ...] = ()
    outcome: str = ""

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "mode": self.mode.value,
            "dataset": self.dataset,
            "snapshot": self.snapshot,
            "cnid_snapshot": self.cnid_snapshot,
            "strategy": self.strategy.value,
            "strategy_reason": self.strategy_reason,
            "server": self.server,
            "newer": list(self.newer),
            "newer_held": {k: list(v) for k, v in self.newer_held.items()},
            "kept_as": self.kept_as,
            "cnid_kept_as": self.cnid_kept_as,
            "steps": [s.to_json() for s in self.steps],
            "warnings": list(self.warnings),
            "outcome": self.outcome,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RollbackPlan:
        return cls(
            target=str(data["target"]),
            mode=Mode(data["mode"]),
            dataset=str(data["dataset"]),
            snapshot=data.get("snapshot"),
            cnid_snapshot=data.get("cnid_snapshot"),
            strategy=CnidStrategy(data["strategy"]),
            strategy_reason=str(data["strategy_reason"]),
            server=str(data["server"]),
            newer=tuple(data.get("newer", ())),
            newer_held={k: tuple(v) for k, v in dict(data.get("newer_held", {})).items()},
            kept_as=data.get("kept_as"),
            cnid_kept_as=data.get("cnid_kept_as"),
            steps=tuple(Step.from_json(s) for s in data.get("steps", ())),
            warnings=tuple(data.get("warnings", ())),
            outcome=str(data.get("outcome", "")),
        )
