"""The entry point loads only the verb asked for (importing all of zfstm costs seconds on slow machines)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator

import pytest

from zfstm.cli.main import VERBS, build_parser, main, verbs_to_load


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["rollback", "tm", "--dry-run"], ("rollback",)),
        (["-v", "--syslog", "run"], ("run",)),
        (["--help"], VERBS),
        (["-h", "run"], VERBS),
        (["run", "--help"], ("run",)),
        ([], VERBS),
        (["--version"], VERBS),
    ],
)
def test_verbs_to_load(argv: list[str], expected: tuple[str, ...]) -> None:
    assert verbs_to_load(argv) == expected


def test_global_help_lists_every_verb(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(verb in out for verb in VERBS)


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and every subcommand's parser under it, at any depth."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from _parsers(sub)


def test_every_help_text_formats() -> None:
    """`zfstm plan --help` once died in argparse ('%Y' of the default naming pattern is a format character)."""
    for parser in _parsers(build_parser()):
        assert parser.format_help(), parser.prog


def test_one_verb_parser_parses_like_the_full_one() -> None:
    argv = ["plan", "--input", "x.json", "--now", "2026-11-28T00:00:00Z"]
    assert vars(build_parser(("plan",)).parse_args(argv)).keys() == vars(build_parser().parse_args(argv)).keys()


def test_a_verb_does_not_import_the_others() -> None:
    """`zfstm cnid --help` in a fresh interpreter leaves the lifecycle (the run verb's machinery) unimported."""
    code = (
        "import sys\nfrom zfstm.cli.main import main\n"
        "try:\n    main(['cnid', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('zfstm.lifecycle.tick' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().endswith("False")
