"""docs/exit-codes.md lists every exit code zfstm has, and no other (issue 14, item 7)."""

from __future__ import annotations

import re
from pathlib import Path

from zfstm import errors
from zfstm.cli.cnid import EXIT_PROBLEMS
from zfstm.errors import RollbackFailed
from zfstm.service.smf_exit import SMF_EXIT_ERR_CONFIG

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "exit-codes.md"
#: Shipped shell methods, whose codes are their ``${SMF_EXIT_...:=N}`` defaults.
SCRIPTS = (ROOT / "zfstm" / "share" / "smf" / "zfstm-account",)


def _codes_in_the_code() -> set[int]:
    classes = [value for value in vars(errors).values() if isinstance(value, type) and issubclass(value, Exception)]
    found = {cls.exit_code for cls in classes if issubclass(cls, errors.ZfstmError)}
    return found | {
        errors.EXIT_OK,
        errors.EXIT_INTERRUPTED,
        EXIT_PROBLEMS,
        RollbackFailed.exit_code,
        SMF_EXIT_ERR_CONFIG,
        *_codes_of_the_scripts(),
    }


def _codes_of_the_scripts() -> set[int]:
    """The codes a shipped script can exit with (``exit "$SMF_EXIT_X"`` names one of its ``:=N`` defaults)."""
    codes: set[int] = set()
    for script in SCRIPTS:
        text = script.read_text(encoding="utf-8")
        defaults = dict(re.findall(r"\$\{(SMF_EXIT_\w+):=(\d+)\}", text))
        used = set(re.findall(r"exit \"\$(SMF_EXIT_\w+)\"", text))
        assert used <= defaults.keys(), script
        codes |= {int(defaults[name]) for name in used} | {int(code) for code in re.findall(r"\bexit (\d+)", text)}
    return codes


def test_every_exit_code_has_its_row_and_every_row_a_code() -> None:
    rows = {int(match) for match in re.findall(r"^\| (\d+) \|", DOC.read_text(encoding="utf-8"), re.MULTILINE)}
    assert rows == _codes_in_the_code()


def test_every_class_that_sets_a_code_is_named_in_the_table() -> None:
    """The classes that define a code (their subclasses share it: the table says "and subclasses")."""
    text = DOC.read_text(encoding="utf-8")
    classes = [value for value in vars(errors).values() if isinstance(value, type) and issubclass(value, Exception)]
    setting = [cls for cls in classes if issubclass(cls, errors.ZfstmError) and "exit_code" in vars(cls)]
    assert [cls.__name__ for cls in setting if f"`{cls.__name__}`" not in text] == []
