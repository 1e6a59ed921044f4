"""`zfstm plan` offline (--input FILE) and live over the fake backend: output, flags, mistakes and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zfstm.cli.main import main
from zfstm.zfs.fake import FakeBackend

NOW = "2026-11-28T12:00:00Z"
INPUT = """\
# name<TAB>time
tank/tm@zfstm-20261128T101500Z\t2026-11-28T10:15:00Z
tank/tm@zfstm-20261128T104500Z\t2026-11-28T10:45:00Z
tank/tm@zfstm-20261128T113000Z\t2026-11-28T11:30:00Z
tank/tm@manual\t2026-11-28T09:00:00Z
tank/tm@held-one\t2026-11-28T08:00:00Z\tmanaged=yes\tholds=zfstm-known-good
tank/other@zfstm-20261128T110000Z\t2026-11-28T11:00:00Z
"""


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(list(argv)) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


@pytest.fixture
def listing(tmp_path: Path) -> Path:
    path = tmp_path / "snapshots.tsv"
    path.write_text(INPUT)
    return path


def test_offline_json(listing: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Offline JSON has keep and destroy lists with name and reasons; datasets are planned separately."""
    document = run_json(capsys, "plan", "--input", str(listing), "--now", NOW, "--tz", "Europe/Berlin", "--json")
    destroy = {e["name"]: e["reasons"] for e in document["destroy"]}
    keep = {e["name"]: e["reasons"] for e in document["keep"]}
    assert destroy == {
        "tank/tm@zfstm-20261128T101500Z": [
            "not a representative: hourly 2026-11-28 11:00 (Europe/Berlin) kept by tank/tm@zfstm-20261128T104500Z",
            "not a representative: daily 2026-11-28 (Europe/Berlin) kept by tank/tm@zfstm-20261128T113000Z",
            "not a representative: weekly 2026-W48 (Europe/Berlin) kept by tank/tm@zfstm-20261128T113000Z",
        ]
    }
    assert keep["tank/tm@manual"] == ["foreign"]
    assert keep["tank/tm@held-one"][-2:] == ["held: zfstm-known-good", "known-good"]
    assert "newest" in keep["tank/other@zfstm-20261128T110000Z"]
    assert [d["dataset"] for d in document["datasets"]] == ["tank/tm", "tank/other"]


def test_policy_flags_and_spec(listing: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--policy sets a whole policy; single flags override it."""
    document = run_json(
        capsys,
        "plan",
        "--input",
        str(listing),
        "--now",
        NOW,
        "--json",
        "--policy",
        "hourly=none,daily=none,weekly=none,min_keep=2",
        "--min-keep",
        "1",
    )
    assert document["policy"].startswith("hourly=none,daily=none,weekly=none,pick=last,min_keep=1,")
    assert {e["name"] for e in document["destroy"]} == {
        "tank/tm@zfstm-20261128T101500Z",
        "tank/tm@zfstm-20261128T104500Z",
    }


def test_short_names_from_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Short names plan as one group; '-' reads standard input."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("zfstm-20261128T101500Z\t2026-11-28T10:15:00Z\n"))
    document = run_json(capsys, "plan", "--input", "-", "--now", NOW, "--json")
    assert document["keep"][0]["name"] == "zfstm-20261128T101500Z"


def test_table_output(listing: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json a table with a summary line per dataset."""
    assert main(["plan", "--input", str(listing), "--now", NOW]) == 0
    out = capsys.readouterr().out
    assert "tank/tm: 5 snapshots, keep 4, destroy 1" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan", "--input", "FILE"], "--now"),
        (["plan"], "DATASET"),
        (["plan", "tank/tm", "--input", "FILE", "--now", NOW], "not both"),
        (["plan", "--input", "FILE", "--now", "noon"], "ISO-8601"),
        (["plan", "--input", "FILE", "--now", NOW, "--hourly", "soon"], "duration"),
        (["plan", "--input", "FILE", "--now", NOW, "--tz", "Mars/Base"], "time zone"),
        (["plan", "--input", "FILE", "--now", NOW, "--adopt", "%Y%m%d%H%M"], "PATTERN@ZONE"),
    ],
)
def test_mistakes_exit_2_or_6(listing: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    """Usage mistakes exit 2, policy mistakes 6 (ConfigError), each with a message saying what is wrong."""
    code = main([str(listing) if part == "FILE" else part for part in argv])
    assert code in {2, 6}
    assert message in capsys.readouterr().err


def test_bad_lines_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every bad input line is reported with its number."""
    path = tmp_path / "bad.tsv"
    path.write_text("only-a-name\nx\tyesterday\ny\t2026-11-28T10:00:00Z\tcolour=red\n")
    assert main(["plan", "--input", str(path), "--now", NOW]) == 2
    err = capsys.readouterr().err
    assert f"{path}:1" in err and f"{path}:2" in err and f"{path}:3" in err


def test_live_plan_over_the_fake_backend(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`zfstm plan DATASET` reads the dataset through the backend and plans it."""
    from datetime import UTC, datetime

    from zfstm.zfs import DatasetName

    fake = FakeBackend(clock=lambda: datetime(2026, 11, 28, 11, tzinfo=UTC))
    fake.create_filesystem(DatasetName("tank/tm"))
    fake.snapshot([DatasetName("tank/tm").snapshot("zfstm-20261128T100000Z")], {"zfstm:managed": "yes"})
    fake.snapshot([DatasetName("tank/tm").snapshot("zfstm-20261128T103000Z")], {"zfstm:managed": "yes"})
    fake.snapshot([DatasetName("tank/tm").snapshot("mine")])
    monkeypatch.setattr("zfstm.cli.plan.backend_for", lambda config, args=None: fake)
    monkeypatch.delenv("ZFSTM_CONFIG", raising=False)
    document = run_json(capsys, "plan", "tank/tm", "--now", NOW, "--json")
    assert [e["name"] for e in document["destroy"]] == ["tank/tm@zfstm-20261128T100000Z"]
    assert {e["name"] for e in document["keep"]} == {"tank/tm@zfstm-20261128T103000Z", "tank/tm@mine"}
