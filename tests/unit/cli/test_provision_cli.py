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


def test_owner_is_the_valid_user(backend: FakeBackend, capsys: pytest.CaptureFixture[str]) -> None:
    """`--owner alice` gives `valid users = alice` (docs/quickstart.md, docs/linux.md); --valid-users wins."""
    assert call(backend, "tank/tm", "--share", "TM", "--owner", "alice", "--platform", "linux", "--dry-run") == 0
    assert "  valid users = alice\n" in capsys.readouterr().out
    argv = ["tank/tm", "--share", "TM", "--owner", "alice", "--valid-users", "bob", "carol", "--dry-run", "--json"]
    assert call(backend, *argv) == 0
    assert "valid users = bob carol" in json.loads(capsys.readouterr().out)["stanza"]


@pytest.mark.parametrize("platform", ["linux", "illumos"])
def test_samba_target_snippet_says_samba(
    backend: FakeBackend, capsys: pytest.CaptureFixture[str], platform: str
) -> None:
    """The printed zfstm.toml snippet for a Samba share sets kind = "samba" (the default server is Netatalk)."""
    argv = ["tank/tm", "--share", "TM", "--server", "samba", "--platform", platform, "--dry-run"]
    assert call(backend, *argv) == 0
    out = capsys.readouterr().out
    assert '  [targets.file_server]\n  kind = "samba"\n' in out
    assert ("FMRI of your smbd" in out) == (platform == "illumos")


def test_samba_target_snippet_parses_as_a_samba_target(backend: FakeBackend) -> None:
    from zfstm.config.load import parse_config
    from zfstm.config.model import FileServerKind
    from zfstm.provision import ProvisionRequest, plan_provision, target_snippet

    request = ProvisionRequest(
        dataset=DatasetName("tank/tm"), share="TM", size_bytes=None, server=FileServerKind.SAMBA, platform="linux",
        cnid_dataset=None, valid_users=(),
    )  # fmt: skip
    plan = plan_provision(request, existing=frozenset(), mountpoints={"tank/tm": "/tank/tm"}, force=False)
    config = parse_config(target_snippet(plan, "tm"), "snippet.toml", platform="linux")
    assert config.targets[0].file_server.kind is FileServerKind.SAMBA
