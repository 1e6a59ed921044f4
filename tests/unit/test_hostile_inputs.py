"""Issue 14's hostile shapes, each as it was found: a one-line documented error now, never a traceback.

Before each fix these raised OverflowError, RecursionError, MemoryError, UnicodeDecodeError, KeyError..., or were
accepted when they should not be (duplicates, malformed names, nan). The fuzz suite (test_fuzz_inputs.py) tries
many more shapes of each input; these are the ones to never see again.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from zfstm.cli.main import main, syslog_flag_form
from zfstm.clock import parse_instant
from zfstm.config.load import load_config
from zfstm.errors import (
    AfpConfError,
    ConfigError,
    InternalError,
    JournalCorrupt,
    UsageError,
    ZfsError,
)
from zfstm.logsetup import setup_logging
from zfstm.naming import legacy_scheme
from zfstm.retention.durations import parse_duration
from zfstm.retention.policy_text import parse_fraction
from zfstm.rollback.journal import Journal, parse_lines, read_journal, unfinished_rollbacks
from zfstm.textfile import read_small_text, split_lines
from zfstm.timemachine.timefmt import parse_utc
from zfstm.zfs.cli_parse import parse_holds, parse_snapshot_list, parse_snapshot_user_props
from zfstm.zfs.types import SnapshotProperty

NOW = "2026-11-28T12:00:00Z"
GOOD = "tank/tm@zfstm-20261128T110000Z\t2026-11-28T11:00:00Z\n"
AFTER_9999 = "9999-12-31T23:59:59-01:00"


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


# --- times and durations -------------------------------------------------------------------------------------------


def test_a_year_one_legacy_name_east_of_utc_is_not_in_the_scheme() -> None:
    """00010101_0000 in Europe/Berlin is before year 1 in UTC: foreign (kept), not an OverflowError."""
    scheme = legacy_scheme("Europe/Berlin")
    assert scheme.parse("00010101_0000") is None
    assert scheme.parse("20261128_0215") == datetime(2026, 11, 28, 1, 15, tzinfo=UTC)


def test_times_after_year_9999_in_utc() -> None:
    """A property reads as unset; --now and offline times are usage errors (exit 2)."""
    assert parse_utc(AFTER_9999) is None
    with pytest.raises(UsageError, match="outside years 1-9999"):
        parse_instant(AFTER_9999)


@pytest.mark.parametrize("text", ["5w359104669w5s762h0h", "99999999999999d", "99999999999999999999w"])
def test_huge_durations_are_configuration_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="longer than 1000 years"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["nan", "NaN%", "inf", "-inf"])
def test_non_finite_fractions_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="not a fraction"):
        parse_fraction(text, "--usage")


def test_zfs_times_out_of_range_are_zfs_errors() -> None:
    """A creation of 2**63 (or any epoch outside years 1-9999) is a ZfsError naming the line."""
    with pytest.raises(ZfsError, match="out of range"):
        parse_snapshot_list("tank/tm@a\t1\t1\t9223372036854775808\n", [SnapshotProperty.CREATION])
    with pytest.raises(ZfsError, match="out of range"):
        parse_holds("tank/tm@a\ttag\t-99999999999999\n")


def test_zfs_output_splits_on_newline_only() -> None:
    """A \\r or U+2028 inside a user property value stays in it instead of shifting the columns."""
    found = parse_snapshot_user_props("tank/tm@a\tzfstm:x\tv\u2028w\rz\tlocal\n")
    assert [value for props in found.values() for value in props.values()] == ["v\u2028w\rz"]


# --- the command line ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["plan", "--input", "{f}", "--now", AFTER_9999], 2, "outside years 1-9999"),
        (["plan", "--input", "{f}", "--now", NOW, "--hourly", "99999999999999d"], 6, "longer than 1000 years"),
        (["plan", "--input", "{f}", "--now", NOW, "--usage", "nan"], 6, "not a fraction"),
    ],
)
def test_flags_out_of_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    listing = tmp_path / "in.tsv"
    listing.write_text(GOOD)
    assert main([a.replace("{f}", str(listing)) for a in argv]) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (GOOD + GOOD, ":2: tank/tm@zfstm-20261128T110000Z is listed again (first on line 1)"),
        (b"tank/tm@\t2026-11-28T11:00:00Z\n", ":1: tank/tm: snapshot name after '@' is empty"),
        (b"a@b@c\t2026-11-28T11:00:00Z\n", ":1: a@b@c: snapshot name has 2 '@'"),
        (b"\t2026-11-28T11:00:00Z\n", ":1: the snapshot name is empty"),
        (b"\xff\xfe\x00garbage\n" + GOOD.encode(), ":1: not UTF-8 text"),
        (b"tank/tm@x\t" + AFTER_9999.encode() + b"\n", ":1: time 9999-12-31T23:59:59-01:00 is outside"),
        ("x@a\rb\t2026\nbad\n", ":2: expected NAME<TAB>ISO-8601 time"),
        ("x@a\u2028b\t2026\nx@a\u0085b\tz\nbad\n", ":3: expected NAME<TAB>ISO-8601 time"),
        (b"x" * 70000 + b"\t2026-11-28T11:00:00Z\n", ":1: not UTF-8 text, or longer than"),
    ],
)
def test_offline_input_shapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, expected: str
) -> None:
    """Each is refused (exit 2) with FILE:LINE; line numbers count \\n only (a \\r or U+2028 shifted them)."""
    listing = tmp_path / "in.tsv"
    if isinstance(content, bytes):
        listing.write_bytes(content)
    else:
        listing.write_text(content)
    assert main(["plan", "--input", str(listing), "--now", NOW]) == 2
    err = capsys.readouterr().err
    assert f"{listing}{expected}" in err, err


def test_an_unexpected_exception_is_one_line_and_exit_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], restore_root: None
) -> None:
    """main() turns a bug into one line and InternalError's code; the traceback only under -v."""
    from zfstm.cli import plan as plan_cli

    def broken(_args: object) -> int:
        raise KeyError("boom")

    monkeypatch.setattr(plan_cli, "run", broken)
    monkeypatch.setattr(plan_cli, "register", _register_with(plan_cli, broken))
    assert main(["plan", "--now", NOW]) == InternalError.exit_code == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error KeyError" in err and "-v" in err
    assert main(["-v", "plan", "--now", NOW]) == 70
    assert "Traceback" in capsys.readouterr().err


def test_a_bug_while_parsing_the_command_line_is_one_line_and_exit_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As `zfstm plan --help` was (a '%Y' in a help text made argparse raise ValueError): one line, exit 70;
    `zfstm check` answers UNKNOWN."""
    from zfstm.cli import main as main_module

    def broken(_verbs: object) -> object:
        raise ValueError("unsupported format character 'Y'")

    monkeypatch.setattr(main_module, "build_parser", broken)
    assert main(["plan", "--help"]) == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("zfstm plan: internal error ValueError"), err
    assert main(["check"]) == 3
    assert capsys.readouterr().out.startswith("ZFSTM UNKNOWN - internal error ValueError")


def _register_with(module: object, handler: object) -> object:
    original = module.register  # type: ignore[attr-defined]

    def register(subparsers: object) -> None:
        original(subparsers)
        subparsers.choices["plan"].set_defaults(handler=handler)  # type: ignore[attr-defined]

    return register


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--syslog", "status"], ["--syslog=auto", "status"]),
        (["-v", "--syslog", "-v", "run"], ["-v", "--syslog=auto", "-v", "run"]),
        (["--syslog"], ["--syslog=auto"]),
        (["--syslog", "udp:127.0.0.1:514", "run"], ["--syslog", "udp:127.0.0.1:514", "run"]),
        (["--syslog", "/dev/log", "run"], ["--syslog", "/dev/log", "run"]),
        (["--syslog=/var/run/log", "run"], ["--syslog=/var/run/log", "run"]),
    ],
)
def test_syslog_without_an_address_does_not_swallow_the_verb(argv: list[str], expected: list[str]) -> None:
    assert syslog_flag_form(argv) == expected


def test_syslog_auto_without_a_socket_warns_and_goes_on(monkeypatch: pytest.MonkeyPatch, restore_root: None) -> None:
    """ZFSTM_SYSLOG=auto with no local socket: one warning on stderr, logging goes on (it never stops snapshots)."""
    monkeypatch.setattr("zfstm.logsetup.SOCKET_CANDIDATES", ("/nonexistent/log",))
    out = io.StringIO()
    logger = setup_logging(0, None, stream=out, environ={"ZFSTM_SYSLOG": "auto"})
    assert len(logger.handlers) == 1
    assert "syslog not used" in out.getvalue()
    setup_logging(0, "/nonexistent/socket", stream=out, environ={})  # a path that is no socket: the same


def test_zfstm_syslog_status_runs_the_verb(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], restore_root: None
) -> None:
    """The form docs/monitoring.md shows: before, argparse took `status` as the address and exited 2."""
    config = tmp_path / "c.toml"
    config.write_text('[[targets]]\ndataset = "tank/tm"\n')
    code = main(["--syslog", "config", "check", "--config", str(config)])
    assert code == 0, capsys.readouterr().err


# --- files ------------------------------------------------------------------------------------------------------------


def test_toml_nested_500_deep_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("a = " + "[" * 500 + "]" * 500 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(path)


def test_a_huge_interval_in_the_configuration_names_file_line_and_key(tmp_path: Path) -> None:
    """interval = "99999999999999999999w" was an OverflowError; now a ConfigError (exit 6) with FILE:LINE: key."""
    path = tmp_path / "c.toml"
    path.write_text('interval = "99999999999999999999w"\n[[targets]]\ndataset = "tank/tm"\n')
    with pytest.raises(ConfigError, match=rf"{path}:1: interval: .* is longer than 1000 years") as raised:
        load_config(path)
    assert raised.value.exit_code == 6


def test_a_binary_config_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xff\xfe\x00\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_afp_conf_include_of_a_device_or_fifo_is_refused(tmp_path: Path) -> None:
    """include = /dev/zero read until MemoryError; a FIFO would hang. Only regular files of bounded size."""
    from zfstm.cli.cnid import load_afp_conf

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target in ("/dev/zero", str(fifo)):
        conf = tmp_path / "afp.conf"
        conf.write_text(f"[Global]\ninclude = {target}\n")
        with pytest.raises(AfpConfError, match=r"afp.conf:2: .*not a regular file"):
            load_afp_conf(conf, "/var/netatalk")
    big = tmp_path / "big.conf"
    big.write_bytes(b"#" * 100)
    with pytest.raises(Exception, match="larger than 10 bytes"):
        read_small_text(big, limit=10)


def test_afp_conf_line_numbers_count_newlines_only(tmp_path: Path) -> None:
    """A \\r, U+0085 or U+2028 inside a line does not shift the line an error names."""
    from zfstm.netatalk.afpconf import parse_ini

    with pytest.raises(AfpConfError, match=r"afp.conf:3:"):
        parse_ini("[Global]\n; a\u2028b\u0085c\rd\nbroken line\n", "afp.conf")
    assert split_lines("a\r\nb\u2028c\n") == ["a", "b\u2028c"]


# --- rollback journals ------------------------------------------------------------------------------------------------


def _plan_line() -> str:
    import json

    from tests.unit.rollback.test_journal import PLAN

    return json.dumps({"event": "plan", "id": "r1", "plan": PLAN.to_json()})


@pytest.mark.parametrize(
    ("body", "line", "what"),
    [
        ("{plan}\nnot json\n{{}}\n", 2, "not JSON"),
        ("{plan}\n[1,2]\n", 2, "expected a JSON object, got list"),
        ('{plan}\n{{"event": "after", "step": "x", "result": 5}}\n', 2, "'result' has the wrong type"),
        ('{{"event": "plan", "id": "r1", "plan": {{"mode": "swap"}}}}\n', 1, "the plan cannot be read"),
        ("[1,2]\n", 1, "expected a JSON object"),
        ('{{"event": "before"}}\n', 1, "the first record is not the rollback's plan"),
        ("{plan}\nnot json, but with its newline\n", 2, "not JSON"),
    ],
)
def test_a_damaged_journal_is_refused_naming_file_and_line(tmp_path: Path, body: str, line: int, what: str) -> None:
    """--resume, status and check: a clear JournalCorrupt (exit 11) instead of KeyError/AttributeError/ValueError."""
    path = tmp_path / "rollback-tm.jsonl"
    path.write_text(body.format(plan=_plan_line()))
    with pytest.raises(JournalCorrupt, match=f"{path}, line {line}: {what}") as raised:
        Journal.open(tmp_path, "tm")
    assert raised.value.exit_code == 11 and "by hand" in str(raised.value)
    (listed,) = unfinished_rollbacks(tmp_path)  # status and check still see an unfinished rollback
    assert listed.target == "tm" and listed.dataset == "?"


def test_a_cut_short_last_line_is_tolerated_on_resume(tmp_path: Path) -> None:
    path = tmp_path / "rollback-tm.jsonl"
    path.write_text(_plan_line() + '\n{"event": "before", "step": "stop-server"}\n{"event": "aft')
    journal = Journal.open(tmp_path, "tm")
    assert journal is not None and len(journal.records) == 2 and journal.plan.target == "tm"
    path.write_text('{"event": "pl')  # cut short while the plan itself was written: no step ran
    journal = Journal.open(tmp_path, "tm")
    assert journal is not None
    with pytest.raises(JournalCorrupt, match="no complete plan record"):
        _ = journal.plan
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(JournalCorrupt, match="not UTF-8"):
        read_journal(path)
    assert parse_lines("") == []


def test_check_with_a_bad_syslog_address_is_unknown(capsys: pytest.CaptureFixture[str], restore_root: None) -> None:
    """Even before the verb runs (logging setup), check answers a Nagios line and 3."""
    assert main(["--syslog", "udp:nohost", "check"]) == 3
    assert capsys.readouterr().out.startswith("ZFSTM UNKNOWN - syslog address")
