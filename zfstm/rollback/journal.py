"""The rollback journal: one JSON object per line, each written and fsync'ed before the process moves on.

Why a file and not only ZFS state: a crash can happen between any two ZFS calls and inside the steps that are not
ZFS at all (stopping the server, raising the CNID counter); the journal says which step was running, with the plan
it belonged to, so ``zfstm rollback --resume`` needs nothing but this file. A torn last line (a crash inside
``write``) is ignored: its step is then simply in doubt and re-run.

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

from zfstm.rollback.machine import progress
from zfstm.rollback.model import RollbackPlan

PREFIX = "rollback-"
ACTIVE_SUFFIX = ".jsonl"
DONE_SUFFIX = ".jsonl.done"


def journal_path(state_dir: Path, target: str) -> Path:
    """The active journal of ``target`` (its name is %-escaped, so any target name is a safe file name)."""
    return state_dir / f"{PREFIX}{quote(target, safe='')}{ACTIVE_SUFFIX}"


def parse_lines(text: str) -> list[dict[str, Any]]:
    """Records from journal text; a torn (unparseable) LAST line is dropped, anything else torn is an error."""
    lines = [line for line in text.split("\n") if line.strip()]
    records: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if index == len(lines) - 1:
                break
            raise ValueError(f"journal line {index + 1} is not JSON: {line[:60]!r}") from None
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
        if path.exists() and not progress(parse_lines(path.read_text(encoding="utf-8"))).closed:
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
        return cls(path, parse_lines(path.read_text(encoding="utf-8")))

    @property
    def plan(self) -> RollbackPlan:
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
    """Every unfinished rollback journal in ``state_dir`` (for ``zfstm status``); empty if the dir is missing."""
    found: list[UnfinishedRollback] = []
    if not state_dir.is_dir():
        return found
    for path in sorted(state_dir.glob(f"{PREFIX}*{ACTIVE_SUFFIX}")):
        try:
            records: Sequence[Mapping[str, Any]] = parse_lines(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
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
