"""Configuration parsing: defaults, every problem reported with file, line and key, all at once, and path choice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from zfstm.config.load import ConfigProblems, config_path, load_config, parse_config, parse_size
from zfstm.config.model import BackendChoice, FileServerKind, ServiceAdapter
from zfstm.errors import ConfigError
from zfstm.retention.policy import Pick

ROOT = Path(__file__).resolve().parents[2]

BAD = """\
interval = "soon"

[retention]
daily = "31 days"
time_zone = "Mars/Olympus"

[detector]
quiet_perod = "10m"
skip_empty = "yes"

[[targets]]
dataset = "tank/tm"
cnid_dataset = "other/cnid"

[targets.retention]
pick = "middle"

[[targets]]
name = "tm"
dataset = "tank//bad"
"""


def problems_of(text: str, source: str = "/etc/zfstm/zfstm.toml") -> list[tuple[int | None, str]]:
    with pytest.raises(ConfigProblems) as caught:
        parse_config(text, source)
    return [(problem.line, problem.key) for problem in caught.value.problems]


def test_minimal_config_gets_every_default() -> None:
    """Only a dataset is required; the rest are the documented defaults."""
    config = parse_config('[[targets]]\ndataset = "tank/tm"\n', "x.toml", platform="linux")
    target = config.targets[0]
    assert target.name == "tm"
    assert target.retention.pick is Pick.LAST
    assert target.detector.quiet_period == timedelta(minutes=10)
    assert target.due.max_interval == timedelta(hours=24)
    assert target.file_server.kind is FileServerKind.NETATALK
    assert target.file_server.adapter is ServiceAdapter.SYSTEMD
    assert target.file_server.service == "netatalk.service"
    assert config.backend.kind is BackendChoice.AUTO
    assert config.interval == timedelta(minutes=15)


def test_illumos_defaults_use_smf() -> None:
    """On illumos the file server defaults to SMF and the pkgsrc afp.conf."""
    config = parse_config('[[targets]]\ndataset = "tank/tm"\n', "x.toml", platform="sunos5")
    server = config.targets[0].file_server
    assert (server.adapter, server.service, server.afp_conf) == (
        ServiceAdapter.SMF,
        "svc:/network/netatalk:default",
        "/opt/local/etc/netatalk/afp.conf",
    )


def test_every_problem_is_reported_with_its_line_and_key() -> None:
    """All mistakes of a file come back together, each with the line and the dotted key."""
    assert problems_of(BAD) == [
        (1, "interval"),
        (4, "retention.daily"),
        (5, "retention.time_zone"),
        (8, "detector.quiet_perod"),
        (9, "detector.skip_empty"),
        (13, "targets[0].cnid_dataset"),
        (16, "targets[0].retention.pick"),
        (20, "targets[1].dataset"),
    ]


def test_message_names_file_line_and_key() -> None:
    """The rendered error starts each problem with FILE:LINE: KEY and suggests a near key."""
    with pytest.raises(ConfigError) as caught:
        parse_config(BAD, "/etc/zfstm/zfstm.toml")
    text = str(caught.value)
    assert "/etc/zfstm/zfstm.toml:8: detector.quiet_perod: unknown key (did you mean 'quiet_period'?)" in text
    assert "has 8 problems" in text
    assert caught.value.exit_code == 6


def test_syntax_error_names_its_line() -> None:
    """A TOML syntax error is reported with the line tomllib gives."""
    assert problems_of('[[targets]]\ndataset = "tank/tm"\nname = \n') == [(3, "(syntax)")]


def test_no_targets_is_a_problem() -> None:
    """A file without targets says how to add one."""
    assert problems_of('interval = "5m"\n') == [(None, "targets")]


def test_target_without_dataset_points_at_its_table() -> None:
    """A [[targets]] without dataset is reported at its header line."""
    assert problems_of('[[targets]]\nname = "x"\n') == [(1, "targets[0]")]


def test_duplicate_names_and_datasets_are_refused() -> None:
    """Two targets may not share a name or a dataset; a CNID dataset may not be a share."""
    text = '[[targets]]\ndataset = "tank/a"\ncnid_dataset = "tank/b"\n[[targets]]\nname = "a"\ndataset = "tank/b"\n'
    assert problems_of(text) == [(3, "targets[0].cnid_dataset"), (5, "targets[1].name")]


def test_target_overrides_apply_key_by_key() -> None:
    """[targets.retention] and [targets.detector] change only the keys they name."""
    text = """
[retention]
daily = "20d"
time_zone = "Europe/Berlin"
[detector]
quiet_period = "5m"
[[targets]]
dataset = "tank/a"
[targets.retention]
daily = "14d"
[[targets]]
dataset = "tank/b"
[targets.detector]
quiet_period = "0s"
max_interval = "none"
"""
    a, b = parse_config(text).targets
    assert [t.max_age for t in a.retention.tiers if t.name == "daily"] == [timedelta(days=14)]
    assert [t.max_age for t in b.retention.tiers if t.name == "daily"] == [timedelta(days=20)]
    assert a.retention.zone == b.retention.zone == "Europe/Berlin"
    assert a.detector.quiet_period == timedelta(minutes=5)
    assert b.detector.quiet_period == timedelta(0)
    assert b.due.max_interval is None


def test_pidfile_adapter_needs_start_and_program() -> None:
    """The pidfile adapter cannot start a server without its argv and program name."""
    text = '[[targets]]\ndataset = "tank/a"\n[targets.file_server]\nadapter = "pidfile"\nservice = "/run/n.pid"\n'
    assert problems_of(text) == [(4, "targets[0].file_server.adapter")]


def test_sizes() -> None:
    """written_noise accepts bytes or binary units."""
    assert parse_size(512) == 512
    assert parse_size("1MiB") == parse_size("1M") == 1024 * 1024
    assert parse_size("2g") == 2 << 30
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")


def test_config_path_precedence() -> None:
    """--config wins over $ZFSTM_CONFIG, which wins over the platform default."""
    env = {"ZFSTM_CONFIG": "/srv/zfstm.toml"}
    assert config_path("/tmp/a.toml", env) == Path("/tmp/a.toml")
    assert config_path(None, env) == Path("/srv/zfstm.toml")
    assert config_path(None, {}, "linux") == Path("/etc/zfstm/zfstm.toml")
    assert config_path(None, {}, "sunos5") == Path("/opt/zfstm/etc/zfstm.toml")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A missing file names itself and where to find an example."""
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_example_file_is_valid() -> None:
    """zfstm/share/examples/zfstm.toml parses on both platforms."""
    for platform in ("linux", "sunos5"):
        config = load_config(ROOT / "zfstm" / "share" / "examples" / "zfstm.toml", platform=platform)
        assert [t.name for t in config.targets] == ["tm", "office"]
        assert config.naming.adopted[0].zone == "Europe/Berlin"


def test_docs_show_the_example_file() -> None:
    """docs/configuration.md embeds share/examples/zfstm.toml verbatim, so the documented example is the tested one."""
    example = (ROOT / "zfstm" / "share" / "examples" / "zfstm.toml").read_text()
    assert example in (ROOT / "docs" / "configuration.md").read_text()


def test_replica_and_hooks_are_read_and_checked() -> None:
    """``replica`` is a boolean per target; ``[hooks]`` takes an argument list with known placeholders and a
    timeout; a misspelt placeholder or a wrong type is a problem with its line."""
    config = parse_config(
        '[hooks]\nafter_known_good = ["zrepl", "signal", "wakeup", "push_{target}"]\ntimeout = "20s"\n'
        '[[targets]]\ndataset = "backup/tm"\nreplica = true\n'
    )
    assert config.hooks.after_known_good == ("zrepl", "signal", "wakeup", "push_{target}")
    assert config.hooks.timeout == timedelta(seconds=20)
    assert config.targets[0].replica
    default = parse_config('[[targets]]\ndataset = "tank/tm"\n')
    assert not default.targets[0].replica
    assert default.hooks.after_known_good == ()
    with pytest.raises(ConfigProblems) as caught:
        parse_config(
            '[hooks]\nafter_known_good = ["x", "{snap}"]\ntimeout = 5\n[[targets]]\ndataset = "a/b"\nreplica = "yes"\n'
        )
    text = str(caught.value)
    assert ":2: hooks.after_known_good: {snap} is not a placeholder" in text
    assert ":3: hooks.timeout:" in text
    assert ":6: targets[0].replica: must be true or false" in text
