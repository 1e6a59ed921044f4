"""`zfstm provision` over the fake backend: datasets created with properties, config written, --dry-run inert."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zfstm.cli.main import build_parser
from zfstm.errors import UsageError
from zfstm.zfs import DatasetName
from zfstm.zfs.fake import FakeBackend


def call(backend: FakeBackend, *argv: str) -> int:
    args = build_parser().parse_args(["provision", *argv])
    args.zfs_backend = backend
    code: int = args.handler(args)
    return code


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()  # the pool root tank exists


def test_provision_creates_datasets_and_writes_stanza(backend: FakeBackend, tmp_path: Path) -> None:
    """Datasets get their properties and the stanza is appended to an existing afp.conf."""
    conf = tmp_path / "afp.conf"
    conf.write_text("[Global]\nlog level = default:info\n")
    argv = ["tank/tm", "--share", "TM", "--size", "2G", "--platform", "linux", "--write-config", str(conf)]
    assert call(backend, *argv) == 0
    props = backend.state.datasets["tank/tm"].props
    assert props == {"compression": "lz4", "refquota": "2048M", "xattr": "sa", "atime": "off"}
    assert backend.exists(DatasetName("tank/cnid"))
    assert conf.read_text().startswith("[Global]\nlog level = default:info\n\n[TM]\n")
    with pytest.raises(UsageError):
        call(backend, *argv)


def test_dry_run_touches_nothing(backend: FakeBackend, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--dry-run --json prints the plan; no dataset and no file appear."""
    conf = tmp_path / "smb.conf"
    argv = ["tank/tm", "--share", "TM", "--server", "samba", "--dry-run", "--json", "--write-config", str(conf)]
    assert call(backend, *argv) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["config"]["action"] == "create" and plan["datasets"][0]["action"] == "create"
    assert not backend.exists(DatasetName("tank/tm")) and not conf.exists()
