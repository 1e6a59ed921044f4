"""Fuzzing every parser and entry point that reads outside input: only zfstm's own documented errors escape.

The invariant (issue 14): whatever the bytes or text, a parser returns a value or raises a :class:`ZfstmError`
subclass (each has a documented exit code), never OverflowError, RecursionError, UnicodeDecodeError, KeyError...
Inputs mix random data with near-valid shapes (a valid line with one field mutated), because purely random text
rarely gets past the first check. The explicit shapes found by the adversarial pass are in test_hostile_inputs.py.
Examples per test are kept small so the whole file runs in a few seconds.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import plistlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from zfstm.check.verdict import parse_age_limit, parse_capacity_limit
from zfstm.cli.main import main
from zfstm.cli.plan import input_lines, read_offline
from zfstm.clock import parse_instant
from zfstm.config.load import parse_config
from zfstm.errors import ZfstmError
from zfstm.naming import DEFAULT_SCHEME, NamingScheme, legacy_scheme
from zfstm.netatalk.afpconf import parse_afp_conf
from zfstm.netatalk.bdbdump import parse_dump
from zfstm.netatalk.cnid import decode_record, decode_rootinfo
from zfstm.netatalk.metadata_ea import EA_SIZE, decode_metadata_ea
from zfstm.retention.durations import parse_duration
from zfstm.retention.policy_text import parse_fraction, parse_limit
from zfstm.rollback.journal import parse_lines
from zfstm.snapshots.model import view_of
from zfstm.timemachine.history import parse_history
from zfstm.timemachine.machineid import parse_machine_id
from zfstm.timemachine.properties import record_from_properties
from zfstm.timemachine.sparsebundle import parse_info
from zfstm.timemachine.timefmt import parse_utc
from zfstm.zfs.cli_parse import (
    parse_get,
    parse_holds,
    parse_local_properties,
    parse_names,
    parse_reclaim,
    parse_snapshot_list,
    parse_snapshot_user_props,
)
from zfstm.zfs.names import HoldTag, parse_name, validate_user_property
from zfstm.zfs.types import SnapshotInfo, SnapshotProperty

#: ZFSTM_FUZZ_SCALE=50 for a deeper run by hand; the default keeps the file at about 10 s.
SCALE = int(os.environ.get("ZFSTM_FUZZ_SCALE", "1"))
FAST = settings(max_examples=150 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=40 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BERLIN = legacy_scheme("Europe/Berlin")


def only_zfstm_errors(parse: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``parse``; a ZfstmError is an allowed answer (None), anything else fails the test."""
    try:
        return parse(*args, **kwargs)
    except ZfstmError:
        return None


# --- building blocks: text that is almost valid ---------------------------------------------------------------------

#: Characters that trip parsers: separators, line breaks str.splitlines knows, NUL, surrogates' neighbours.
NASTY = "\t\n\r\x00\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029 #;=[]{}\"'\\@/,:%-+.eE0123456789"
nasty_text = st.text(alphabet=st.sampled_from(NASTY) | st.characters(), max_size=60)
digits = st.text(alphabet="0123456789", min_size=1, max_size=25)
#: Years at the edges of datetime's range come often: an offset or a zone pushes them out of it.
years = st.sampled_from([0, 1, 2, 1970, 9998, 9999]) | st.integers(0, 9999)
times = st.one_of(
    st.datetimes(timezones=st.sampled_from([UTC])).map(lambda d: d.isoformat()),
    st.builds(
        lambda y, rest, off: f"{y:04d}-{rest}{off}",
        years,
        st.sampled_from(["12-31T23:59:59", "01-01T00:00:00", "02-29T12:00", "13-01T00:00"]),
        st.sampled_from(["Z", "-01:00", "+14:00", "-23:59", "+00:00", ""]),
    ),
    nasty_text,
)
durations = st.one_of(
    st.builds(lambda n, u: f"{n}{u}", digits, st.sampled_from("smhdw")),
    st.lists(st.builds(lambda n, u: f"{n}{u}", digits, st.sampled_from("smhdwx")), max_size=5).map("".join),
    nasty_text,
)
names = st.one_of(
    st.builds(lambda d, s: f"{d}@{s}", st.sampled_from(["tank/tm", "tank", "", "a@b", "tank//x", "-x"]), nasty_text),
    st.builds(lambda y: f"tank/tm@{y:04d}0101_0000", years),
    st.builds(lambda t: f"tank/tm@zfstm-{t}", st.text(alphabet="0123456789TZ", max_size=18)),
    nasty_text,
)


# --- times, durations, names -----------------------------------------------------------------------------------------


@FAST
@given(times)
@example("9999-12-31T23:59:59-01:00")  # issue 14: --now, offline times and stands-until
@example("0001-01-01T00:00:00+01:00")
def test_times(text: str) -> None:
    only_zfstm_errors(parse_instant, text)
    assert parse_utc(text) is None or parse_utc(text).tzinfo is not None  # type: ignore[union-attr]


@FAST
@given(durations, st.sampled_from([parse_duration, parse_limit]))
@example("5w359104669w5s762h0h", parse_duration)  # issue 14
@example("99999999999999d", parse_limit)
@example("99999999999999999999w", parse_duration)
def test_durations(text: str, parse: Callable[[str], object]) -> None:
    value = only_zfstm_errors(parse, text)
    if isinstance(value, timedelta):  # usable in datetime arithmetic, as retention and intervals do
        _ = datetime(2026, 11, 28, tzinfo=UTC) - value, datetime(2026, 11, 28, tzinfo=UTC) + value


@FAST
@given(st.one_of(nasty_text, st.builds(lambda n: f"{n}%", digits), st.sampled_from(["nan", "inf", "-0", "1e400"])))
@example("nan")  # issue 14: --usage nan
def test_fractions_and_check_limits(text: str) -> None:
    only_zfstm_errors(parse_fraction, text, "--usage")
    for parse in (parse_age_limit, parse_capacity_limit):  # argparse types and config converters: ValueError
        with contextlib.suppress(ValueError, ZfstmError):
            parse(text + "," + text)


@FAST
@given(names)
@example("tank/tm@00010101_0000")  # issue 14 (Europe/Berlin)
@example("tank/tm@")
@example("a@b@c")
@example("")
def test_names_and_schemes(text: str) -> None:
    only_zfstm_errors(parse_name, text)
    only_zfstm_errors(HoldTag, text)
    only_zfstm_errors(validate_user_property, text)
    short = text.rpartition("@")[2]
    for scheme in (DEFAULT_SCHEME, BERLIN, legacy_scheme("Pacific/Kiritimati"), legacy_scheme("Etc/GMT+12")):
        parsed = scheme.parse(short)
        assert parsed is None or parsed.tzinfo is not None


@FAST
@given(st.text(max_size=30), st.sampled_from(["UTC", "Europe/Berlin", "Nope/Zone", "", "../../etc/passwd"]))
def test_naming_patterns_from_configuration(pattern: str, zone: str) -> None:
    only_zfstm_errors(NamingScheme, pattern=pattern, zone=zone, suffix=True, adopted=True)


@FAST
@given(
    st.builds(lambda y: f"{y:04d}0101_0000", years) | names.map(lambda n: n.rpartition("@")[2]),
    st.dictionaries(
        st.sampled_from(["zfstm:managed", "zfstm:stands-until", "zfstm:tm-completed", "zfstm:activity"]),
        times | nasty_text,
        max_size=4,
    ),
    st.integers(-(2**40), 2**40),
)
@example("00010101_0000", {}, 0)  # issue 14
@example("zfstm-20261128T120000Z", {"zfstm:stands-until": "9999-12-31T23:59:59-01:00"}, 0)
def test_snapshot_views_from_hostile_names_and_properties(short: str, props: dict[str, str], epoch: int) -> None:
    """What observe builds for each listed snapshot (the tick, status and check all read these)."""
    from zfstm.zfs import DatasetName

    snapshot = only_zfstm_errors(DatasetName("tank/tm").snapshot, short)
    if snapshot is None:
        return
    creation = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=epoch % (2**33))
    info = SnapshotInfo(name=snapshot, guid=1, createtxg=1, creation=creation, user_props=props)
    view = view_of(info, frozenset(), DEFAULT_SCHEME, (BERLIN,))
    _ = view.stands_until, view.record
    record_from_properties(short, creation, props)


# --- zfs command output ----------------------------------------------------------------------------------------------

zfs_line = st.lists(
    st.one_of(names, digits, st.sampled_from(["-", "", "9223372036854775808", "-1", "1e3"]), nasty_text),
    min_size=1,
    max_size=6,
).map("\t".join)
zfs_output = st.lists(zfs_line, max_size=5).map("\n".join)


@FAST
@given(zfs_output)
@example("tank/tm@a\t1\t1\t9223372036854775808\t0")  # issue 14: creation 2**63
def test_zfs_cli_output(output: str) -> None:
    props = [SnapshotProperty.CREATION, SnapshotProperty.USED]
    only_zfstm_errors(parse_snapshot_list, output, props)
    only_zfstm_errors(parse_snapshot_list, output, [])
    only_zfstm_errors(parse_snapshot_user_props, output)
    only_zfstm_errors(parse_holds, output)
    only_zfstm_errors(parse_get, output)
    only_zfstm_errors(parse_local_properties, output)
    parse_names(output)
    parse_reclaim(output)


# --- configuration files -------------------------------------------------------------------------------------------

toml_values = st.one_of(
    durations.map(json.dumps),
    times.map(json.dumps),
    st.integers().map(str),
    st.floats(allow_nan=True).map(lambda f: "nan" if f != f else ("inf" if f in (float("inf"),) else repr(f))),
    st.sampled_from(["true", "[]", "{}", '"tank/tm"', '"/abs"', '"rel"', "[1, [2]]"]),
)
toml_keys = st.sampled_from(
    ["interval", "run_dir", "state_dir", "pattern", "zone", "dataset", "hourly", "daily", "quiet", "capacity",
     "backup_age", "max_destroy_share", "kind", "afp_conf", "share_path", "name", "cnid_dataset", "nope"]
)  # fmt: skip
toml_tables = st.sampled_from(
    ["", "[naming]", "[[naming.adopt]]", "[retention]", "[detector]", "[check]", "[[targets]]",
     "[targets.retention]", "[targets.file_server]", "[backend]"]
)  # fmt: skip


@SLOW
@given(
    st.lists(
        st.one_of(toml_tables, st.builds(lambda k, v: f"{k} = {v}", toml_keys, toml_values), nasty_text), max_size=12
    )
)
@example(['interval = "99999999999999999999w"', "[[targets]]", 'dataset = "tank/tm"'])  # issue 14
def test_configuration_text(lines: list[str]) -> None:
    only_zfstm_errors(parse_config, "\n".join(lines), "fuzz.toml")


@FAST
@given(st.integers(1, 3000), st.sampled_from(["[", "{a = ", "[[", "x = [{"]))
@example(500, "[")  # issue 14: RecursionError
def test_configuration_nesting(depth: int, opener: str) -> None:
    only_zfstm_errors(parse_config, "a = " + opener * depth, "deep.toml")


afp_lines = st.one_of(
    st.sampled_from(["[Global]", "[Homes]", "[TM]", "[]", "[a:b]", "[", "include = /x", "path = /srv/tm",
                     "time machine = yes", "cnid scheme = dbd", "vol dbpath = /var/$v", "a = b \\", "= x"]),
    nasty_text,
)  # fmt: skip


@FAST
@given(st.lists(afp_lines, max_size=12), st.booleans())
def test_afp_conf(lines: list[str], with_include: bool) -> None:
    def read_include(path: str) -> str:
        if "x" in path:
            raise OSError("cannot")
        return "\n".join(lines)

    only_zfstm_errors(parse_afp_conf, "\n".join(lines), "afp.conf", read_include=read_include if with_include else None)


# --- netatalk's binary formats -------------------------------------------------------------------------------------


@FAST
@given(st.binary(min_size=0, max_size=8), st.binary(max_size=80))
def test_cnid_record_and_rootinfo(key: bytes, data: bytes) -> None:
    only_zfstm_errors(decode_record, key, data)
    only_zfstm_errors(decode_rootinfo, data)


@FAST
@given(
    st.binary(min_size=EA_SIZE, max_size=EA_SIZE) | st.binary(max_size=EA_SIZE + 8), st.sampled_from(["little", "big"])
)
def test_metadata_ea(raw: bytes, order: str) -> None:
    only_zfstm_errors(decode_metadata_ea, raw, byteorder=order)


dump_lines = st.one_of(
    st.sampled_from(["VERSION=3", "format=bytevalue", "type=btree", "database=cnid2.db", "HEADER=END", "DATA=END",
                     " 00000000", " 0001", " zz", "", "key=", "=x"]),
    st.binary(max_size=12).map(lambda b: " " + b.hex()),
    nasty_text,
)  # fmt: skip


@FAST
@given(st.lists(dump_lines, max_size=14))
def test_db_dump_output(lines: list[str]) -> None:
    only_zfstm_errors(parse_dump, "\n".join(lines))


# --- Time Machine plists ---------------------------------------------------------------------------------------------

plist_leaf = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.text(max_size=20),
    st.booleans(),
    st.binary(max_size=8),
    st.floats(allow_nan=False),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
)
plist_value = st.recursive(
    plist_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
plist_keys = st.sampled_from(
    ["VerificationState", "VerificationDate", "Snapshots", "com.apple.backupd.SnapshotName",
     "com.apple.backupd.SnapshotCompletionDate", "band-size", "size", "diskimage-bundle-type",
     "CFBundleInfoDictionaryVersion",
     "com.apple.backupd.BackupMachineAddress", "x"]
)  # fmt: skip


@FAST
@given(st.dictionaries(plist_keys, plist_value, max_size=5), st.booleans(), st.binary(max_size=40))
def test_time_machine_plists(fields: dict[str, Any], binary: bool, noise: bytes) -> None:
    try:
        data = plistlib.dumps(fields, fmt=plistlib.FMT_BINARY if binary else plistlib.FMT_XML)
    except (TypeError, OverflowError, ValueError):
        data = noise
    for parse in (parse_info, parse_machine_id, parse_history):
        only_zfstm_errors(parse, data)
        only_zfstm_errors(parse, data[: len(data) // 2] + noise)


# --- rollback journals ---------------------------------------------------------------------------------------------

journal_lines = st.one_of(
    st.sampled_from(['{"event": "plan", "plan": {}}', '{"event": "after", "step": "x", "result": []}', "[1,2]",
                     '{"event": 1}', '{"event": "finished", "outcome": null}', "null", '"x"', "{", '{"step": {}}']),
    st.recursive(st.none() | st.integers() | st.text(max_size=5), lambda i: st.lists(i, max_size=3) | st.dictionaries(
        st.sampled_from(["event", "step", "result", "outcome", "plan", "id"]), i, max_size=4), max_leaves=6
    ).map(json.dumps),
    nasty_text,
)  # fmt: skip


@FAST
@given(st.lists(journal_lines, max_size=6), st.booleans())
@example(['{"event": "plan", "plan": {}}', "not json"], False)  # issue 14
@example(["[1,2]"], False)
def test_journal_lines(lines: list[str], torn: bool) -> None:
    from zfstm.rollback.machine import progress

    text = "\n".join(lines) + ("" if torn else "\n")
    records = only_zfstm_errors(parse_lines, text)
    if records is not None:
        progress(records)


@SLOW
@given(st.lists(journal_lines, max_size=4))
def test_journal_files(tmp_path_factory: pytest.TempPathFactory, lines: list[str]) -> None:
    from zfstm.rollback.journal import Journal, unfinished_rollbacks

    directory = tmp_path_factory.mktemp("journals")
    (directory / "rollback-tm.jsonl").write_text("\n".join(lines))
    journal = only_zfstm_errors(Journal.open, directory, "tm")
    if journal is not None:
        only_zfstm_errors(lambda: journal.plan)
    unfinished_rollbacks(directory)


# --- offline plan input, through the parser and through main() -------------------------------------------------------

offline_lines = st.one_of(
    st.builds(lambda n, t: f"{n}\t{t}", names, times),
    st.builds(lambda n, t, x: f"{n}\t{t}\t{x}", names, times, st.sampled_from(["managed=yes", "holds=a,b", "x", "="])),
    nasty_text,
)


@FAST
@given(st.lists(offline_lines, max_size=8), st.binary(max_size=30))
@example(["tank/tm@x\t2026-11-28T11:00:00Z", "tank/tm@x\t2026-11-28T11:00:00Z"], b"")  # issue 14: duplicates
@example(["tank/tm@\t2026-11-28T11:00:00Z", "a@b@c\t2026-11-28T11:00:00Z"], b"\xff\xfe")
def test_offline_input_lines(lines: list[str], noise: bytes) -> None:
    data = ("\n".join(lines)).encode("utf-8", "surrogatepass") + b"\n" + noise
    only_zfstm_errors(read_offline, input_lines(io.BytesIO(data)), naming=DEFAULT_SCHEME, adopted=(BERLIN,))


@SLOW
@given(st.lists(offline_lines, max_size=6), st.lists(st.sampled_from(
    ["--hourly", "99999999999999d", "--usage", "nan", "--space-above", "90%", "--now", "9999-12-31T23:59:59-01:00",
     "--json", "--adopt-legacy", "Europe/Berlin", "--tz", "Nope", "--min-keep", "-1", "--policy", "hourly=1w,x=y"]),
    max_size=6))  # fmt: skip
def test_plan_through_main(tmp_path_factory: pytest.TempPathFactory, lines: list[str], flags: list[str]) -> None:
    """The whole verb: a documented exit code and no traceback, whatever the input and flags."""
    listing = tmp_path_factory.mktemp("plan") / "in.tsv"
    listing.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["plan", "--input", str(listing), "--now", "2026-11-28T12:00:00Z", *flags])
        except SystemExit as exc:  # argparse: a flag without its value
            code = int(exc.code or 0)
    assert code in {0, 2, 4, 6}, err.getvalue()
    assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue()


def test_the_suite_covers_every_reader_named_in_the_issue() -> None:
    """A reminder: a new reader of outside input gets a fuzz test here."""
    names_here = set(globals())
    for reader in ("parse_config", "read_offline", "parse_afp_conf", "decode_record", "decode_rootinfo",
                   "decode_metadata_ea", "parse_dump", "parse_info", "parse_machine_id", "parse_history", "parse_name",
                   "parse_lines", "parse_snapshot_list", "parse_duration", "parse_instant"):  # fmt: skip
        assert reader in names_here
