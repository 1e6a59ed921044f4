"""The worked example of docs/retention.md: its input, run through `zfstm plan`, prints exactly its output block."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zfstm.cli.main import main

DOC = Path(__file__).resolve().parents[3] / "docs" / "retention.md"


def block(marker: str) -> str:
    """The fenced block following ``<!-- marker -->`` in the doc."""
    found = re.search(rf"<!-- {marker} -->\n```\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert found, f"docs/retention.md lacks the {marker} block"
    return found.group(1)


def test_worked_example_matches_the_docs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Running the documented command on the documented input prints the documented table."""
    source = tmp_path / "example.tsv"
    source.write_text(block("worked-example-input"), encoding="utf-8")
    assert main(["plan", "--input", str(source), "--now", "2026-11-28T12:00:00Z", "--tz", "Europe/Berlin"]) == 0
    assert capsys.readouterr().out == block("worked-example-output")


def test_worked_example_key_facts() -> None:
    """The facts the prose of the example points out hold (known-good kept, local day, 3 destroys)."""
    out = block("worked-example-output")
    assert "zfstm-20261127T080000Z  held: zfstm-known-good; known-good" in out
    assert "zfstm-20261127T230000Z  hourly 2026-11-28 00:00 (Europe/Berlin)" in out
    assert "tank/tm: 12 snapshots, keep 9, destroy 3" in out
