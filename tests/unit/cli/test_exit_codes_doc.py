"""docs/exit-codes.md lists every exit code zfstm has, and no other (issue 14, item 7)."""

from __future__ import annotations

import re
from pathlib import Path

from zfstm import errors
from zfstm.cli.cnid import EXIT_PROBLEMS
from zfstm.errors import RollbackFailed
from zfstm.service.smf_exit import SMF_EXIT_ERR_CONFIG

DOC = Path(__file__).resolve().parents[3] / "docs" / "exit-codes.md"


def _codes_in_the_code() -> set[int]:
    classes = [value for value in vars(errors).values() if isinstance(value, type) and issubclass(value, Exception)]
    found = {cls.exit_code for cls in classes if issubclass(cls, errors.ZfstmError)}
    return found | {
        errors.EXIT_OK,
        errors.EXIT_INTERRUPTED,
        EXIT_PROBLEMS,
        RollbackFailed.exit_code,
        SMF_EXIT_ERR_CONFIG,
    }


def test_every_exit_code_has_its_row_and_every_row_a_code() -> None:
    rows = {int(match) for match in re.findall(r"^\| (\d+) \|", DOC.read_text(encoding="utf-8"), re.MULTILINE)}
    assert rows == _codes_in_the_code()


def test_every_class_that_sets_a_code_is_named_in_the_table() -> None:
    """The classes that define a code (their subclasses share it: the table says "and subclasses")."""
    text = DOC.read_text(encoding="utf-8")
    classes = [value for value in vars(errors).values() if isinstance(value, type) and issubclass(value, Exception)]
    setting = [cls for cls in classes if issubclass(cls, errors.ZfstmError) and "exit_code" in vars(cls)]
    assert [cls.__name__ for cls in setting if f"`{cls.__name__}`" not in text] == []
