"""The rollback journal: one JSON object per line, each written and fsync'ed before the process moves on.

Why a file and not only ZFS state: a crash can happen between any two ZFS calls and inside the steps that are not
ZFS at all (stopping the server, raising the CNID counter); the journal says which step was running, with the plan
it belonged to, so ``zfstm rollback --resume`` needs nothing but this file. A torn last line (a crash inside
``write``: no newline after it) is ignored: its step is then simply in doubt and re-run. Any other damage (a line
that is not a JSON object, a first record without a readable plan) is :class:`JournalCorrupt`, naming file and line:
guessing where a half-done rollback stands could lose the share.

Layout in the state directory: ``rollback-<target>.jsonl`` while a rollback is unfinished; when it closes, the file
is renamed to ``rollback-<target>-<stamp>.jsonl.done`` (kept for the record and for ``--undo``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import attrs

from zfstm.errors import JournalCorrupt
from zfstm.rollback.machine import progress
from zfstm.rollback.model import RollbackPlan

PREFIX = "rollback-"
ACTIVE_SUFFIX = ".jsonl"
DONE_SUFFIX = ".jsonl.done"


def journal_path(state_dir: Path, target: str) -> Path:
    """The active journal of ``target`` (its name is %-escaped, so any target name is a safe file name)."""
    return state_dir / f"{PREFIX}{quote(target, safe='')}{ACTIVE_SUFFIX}"


#: Keys a record may carry, and the JSON type each must have (the machine folds them; a wrong type would crash it).
_RECORD_TYPES: Mapping[str, type | tuple[type, ...]] = {"event": str, "step": str, "result": dict, "outcome": str}


def _refuse(source: str, number: int, what: str) -> JournalCorrupt:
    return JournalCorrupt(
        f"journal {source}, line {number}: {what}. Only a cut-short last line is tolerated; nothing was done. Look at "
        "the datasets (zfs list -t all) and the file, then repair or move the journal aside by hand (docs/rollback.md)"
    )


def parse_lines(text: str, source: str = "journal") -> list[dict[str, Any]]:
    """Records from journal text (lines split on ``\n`` only); a torn LAST line (no newline after it) is dropped.

    Anything else is :class:`JournalCorrupt` naming ``source`` and the line: not JSON, not an object, or a field of
    the wrong type. (:func:`read_journal` also checks that the first record is a readable plan.)"""
    lines = text.split("\n")
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            if number == len(lines):  # no newline after it: cut short by a crash inside write
                break
            raise _refuse(source, number, f"not JSON ({line[:60]!r})") from None
        if not isinstance(record, dict):
            raise _refuse(source, number, f"expected a JSON object, got {type(record).__name__}")
        for key, kind in _RECORD_TYPES.items():
            if key in record and record[key] is not None and not isinstance(record[key], kind):
                raise _refuse(source, number, f"{key!r} has the wrong type ({type(record[key]).__name__})")
        records.append(record)
    return records


def _check_plan(record: Mapping[str, Any], source: str, number: int) -> None:
    """The first record carries the plan every later step is read against: it must read back."""
    data = record.get("plan")
    if record.get("event") != "plan" or not isinstance(data, dict):
        raise _refuse(source, number, "the first record is not the rollback's plan")
    try:
        RollbackPlan.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _refuse(source, number, f"the plan cannot be read ({type(exc).__name__}: {exc})") from None


def read_journal(path: Path) -> list[dict[str, Any]]:
    """The records of the journal file at ``path`` (:func:`parse_lines`), the first a readable plan."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JournalCorrupt(f"journal {path}: not UTF-8 text at byte {exc.start}; nothing was done") from None
    records = parse_lines(text, str(path))
    if records:
        first = next(number for number, line in enumerate(text.split("\n"), start=1) if line.strip())
        _check_plan(records[0], str(path), first)
    return records


@attrs.define
class Journal:
    """An open journal file of one target. ``records`` mirrors what is on disk."""

    path: Path
    records: list[dict[str, Any]] = attrs.field(factory=list)

    @classmethod
    def create(cls, state_dir: Path, plan: RollbackPlan, run_id: str) -> Journal:
        state_dir.mkdir(mode=0o770, parents=True, exist_ok=True)
        path = journal_path(state_dir, plan.target)
        if path.exists() and not progress(read_journal(path)).closed:
            raise FileExistsError(str(path))
        path.unlink(missing_ok=True)
        journal = cls(path)
        journal.append({"event": "plan", "id": run_id, "plan": plan.to_json()})
        _fsync_dir(state_dir)
        return journal

    @classmethod
    def open(cls, state_dir: Path, target: str) -> Journal | None:
        path = journal_path(state_dir, target)
        if not path.exists():
            return None
        return cls(path, read_journal(path))

    @property
    def plan(self) -> RollbackPlan:
        if not self.records:
            raise JournalCorrupt(
                f"journal {self.path} holds no complete plan record (cut short as it was created: no step ran); "
                "remove it and start the rollback again"
            )
        return RollbackPlan.from_json(self.records[0]["plan"])

    @property
    def run_id(self) -> str:
        return str(self.records[0]["id"])

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record, stamped with the wall-clock time (UTC), and fsync it before returning."""
        record = {**record, "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        line = json.dumps(record, sort_keys=True) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        self.records.append(dict(record))

    def close(self) -> Path:
        """Rename the finished journal out of the way; returns its new path."""
        done = self.path.with_name(self.path.name[: -len(ACTIVE_SUFFIX)] + f"-{self.run_id}{DONE_SUFFIX}")
        self.path.replace(done)
        _fsync_dir(self.path.parent)
        self.path = done
        return done


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@attrs.frozen
class UnfinishedRollback:
    """A rollback whose journal has no final record: ``zfstm rollback --resume TARGET`` finishes or reverses it."""

    target: str
    journal: str
    dataset: str
    snapshot: str | None
    last_step: str | None
    in_doubt: str | None
    failed: str | None

    def describe(self) -> str:
        where = self.failed or self.in_doubt or self.last_step or "before the first step"
        return (
            f"rollback of {self.dataset} to {self.snapshot or '(undo)'} is unfinished (at {where}); "
            f"run `zfstm rollback --resume {self.target}`"
        )


def unfinished_rollbacks(state_dir: Path) -> list[UnfinishedRollback]:
    """Every unfinished rollback journal in ``state_dir`` (for ``zfstm status``); empty if the dir is missing.

    A damaged journal is listed too (its dataset unknown): it still means a rollback did not finish."""
    found: list[UnfinishedRollback] = []
    if not state_dir.is_dir():
        return found
    for path in sorted(state_dir.glob(f"{PREFIX}*{ACTIVE_SUFFIX}")):
        try:
            records: Sequence[Mapping[str, Any]] = read_journal(path)
        except (OSError, JournalCorrupt):
            records = []
        state = progress(records)
        if state.closed is not None:
            continue
        plan = RollbackPlan.from_json(records[0]["plan"]) if records and "plan" in records[0] else None
        target = unquote(path.name[len(PREFIX) : -len(ACTIVE_SUFFIX)])
        found.append(
            UnfinishedRollback(
                target=target,
                journal=str(path),
                dataset=plan.dataset if plan else "?",
                snapshot=plan.snapshot if plan else None,
                last_step=state.done[-1] if state.done else None,
                in_doubt=state.in_doubt,
                failed=state.failed,
            )
        )
    return found
