"""The journal file: fsync'ed JSON lines, torn last lines, closing, and the unfinished-rollback listing for status."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.rollback.world import facts_of, make_world
from zfstm.rollback.journal import Journal, journal_path, parse_lines, unfinished_rollbacks
from zfstm.rollback.model import RollbackRequest
from zfstm.rollback.planner import plan_rollback

PLAN = plan_rollback(facts_of(make_world()), RollbackRequest("tm", last_good=True))


def test_records_survive_reopening_and_the_plan_reads_back(tmp_path: Path) -> None:
    """What was appended is what a later process reads, plan included."""
    journal = Journal.create(tmp_path, PLAN, "r1")
    journal.append({"event": "before", "step": "stop-server"})
    again = Journal.open(tmp_path, "tm")
    assert again is not None
    assert again.plan == PLAN and again.records == journal.records and again.run_id == "r1"


def test_a_torn_last_line_is_ignored_but_a_torn_middle_line_is_an_error() -> None:
    """A crash inside write leaves a partial last line: dropped (its step is then in doubt); corruption elsewhere is
    refused."""
    assert parse_lines('{"event": "plan"}\n{"event": "bef') == [{"event": "plan"}]
    with pytest.raises(ValueError, match="line 1"):
        parse_lines('{"ev\n{"event": "plan"}\n')


def test_unfinished_rollbacks_lists_open_journals_only(tmp_path: Path) -> None:
    """zfstm status sees an open journal (with where it stopped) and stops seeing it once it is closed."""
    assert unfinished_rollbacks(tmp_path / "missing") == []
    journal = Journal.create(tmp_path, PLAN, "r1")
    journal.append({"event": "before", "step": "stop-server"})
    (found,) = unfinished_rollbacks(tmp_path)
    assert (found.target, found.dataset, found.in_doubt) == ("tm", "tank/tm", "stop-server")
    assert "zfstm rollback --resume tm" in found.describe()
    journal.append({"event": "finished", "outcome": "done"})
    closed = journal.close()
    assert closed.name.endswith("-r1.jsonl.done") and not journal_path(tmp_path, "tm").exists()
    assert unfinished_rollbacks(tmp_path) == []


def test_a_second_rollback_cannot_start_over_an_open_journal(tmp_path: Path) -> None:
    """Creating a journal while one is open for the target fails instead of overwriting it."""
    Journal.create(tmp_path, PLAN, "r1")
    with pytest.raises(FileExistsError):
        Journal.create(tmp_path, PLAN, "r2")
