"""The [check] table: `zfstm check`'s thresholds in the configuration, with the flags' syntax and rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfstm.check.verdict import (
    DAY,
    HOUR,
    Limit,
    State,
    Thresholds,
    format_age_limit,
    format_capacity_limit,
    parse_age_limit,
    parse_capacity_limit,
)
from zfstm.config.load import ConfigProblems, parse_config
from zfstm.config.render import check_document

TARGET = '[[targets]]\ndataset = "tank/tm"\n'


def problems_of(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ConfigProblems) as caught:
        parse_config(text, "/etc/zfstm/zfstm.toml")
    return [(problem.line, problem.key, problem.message) for problem in caught.value.problems]


def test_absent_check_table_gives_the_built_in_thresholds() -> None:
    """Without [check] every target is judged by the defaults `zfstm check` always had."""
    assert parse_config(TARGET).targets[0].check == Thresholds()


def test_check_table_uses_the_flag_syntax() -> None:
    """Ages as WARN,CRIT durations, capacity as percentages or fractions, states as lower-case words."""
    text = f"""
[check]
backup_age = "26h,50h"
snapshot_age = "1h30m, 3h"
known_good_age = "7d,7d"
capacity = "0.7,95%"
verification_failed = "warning"
missing = "OK"
{TARGET}"""
    assert parse_config(text).targets[0].check == Thresholds(
        backup_age=Limit(26 * HOUR, 50 * HOUR),
        snapshot_age=Limit(1.5 * HOUR, 3 * HOUR),
        known_good_age=Limit(7 * DAY, 7 * DAY),
        capacity=Limit(0.7, 0.95),
        verification_failed=State.WARNING,
        missing=State.OK,
    )


def test_targets_override_the_shared_table_key_by_key() -> None:
    """[targets.check] changes only the keys it names; the rest come from [check], then the defaults."""
    text = """
[check]
backup_age = "26h,50h"
capacity = "70%,80%"
[[targets]]
dataset = "tank/a"
[targets.check]
capacity = "85%,95%"
[[targets]]
dataset = "tank/b"
"""
    a, b = (target.check for target in parse_config(text).targets)
    assert a.backup_age == b.backup_age == Limit(26 * HOUR, 50 * HOUR)
    assert (a.capacity, b.capacity) == (Limit(0.85, 0.95), Limit(0.7, 0.8))
    assert a.snapshot_age == Thresholds().snapshot_age


def test_every_check_problem_names_its_line_and_key() -> None:
    """Each bad value is reported with file, line and key, all at once, like the other sections."""
    text = """[check]
backup_age = "50h,26h"
snapshot_age = "2d"
known_good_age = 7
capacity = "80,90"
verification_failed = "unknown"
missing = "maybe"
backup_agee = "1d,2d"
[[targets]]
dataset = "tank/tm"
[targets.check]
capacity = "-5%,10%"
known_good_age = "soon,later"
"""
    found = problems_of(text)
    assert [(line, key) for line, key, _ in found] == [
        (2, "check.backup_age"),
        (3, "check.snapshot_age"),
        (4, "check.known_good_age"),
        (5, "check.capacity"),
        (6, "check.verification_failed"),
        (7, "check.missing"),
        (8, "check.backup_agee"),
        (12, "targets[0].check.capacity"),
        (13, "targets[0].check.known_good_age"),
    ]
    messages = {key: message for _, key, message in found}
    assert "WARNING must not be above CRITICAL" in messages["check.backup_age"]
    assert "give WARNING,CRITICAL" in messages["check.snapshot_age"]
    assert "must be a string WARNING,CRITICAL" in messages["check.known_good_age"]
    assert "fraction 0..1 or a percentage" in messages["check.capacity"]
    assert "not one of: warning, critical" in messages["check.verification_failed"]
    assert "did you mean 'backup_age'?" in messages["check.backup_agee"]
    assert "not a duration" in messages["targets[0].check.known_good_age"]


def test_rendered_check_table_uses_the_flag_syntax() -> None:
    """`zfstm config check` writes the thresholds as a person would, and as the flags take them."""
    assert check_document(Thresholds()) == {
        "backup_age": "2d,7d",
        "snapshot_age": "2d,7d",
        "known_good_age": "7d,14d",
        "replication_lag": "2d,7d",
        "capacity": "80%,90%",
        "verification_failed": "critical",
        "missing": "warning",
    }


@given(st.integers(1, 400 * 24 * 3600), st.integers(0, 400 * 24 * 3600))
def test_age_limits_read_back(warn: int, extra: int) -> None:
    """Any whole-second limit is written as text that parses back to it."""
    limit = Limit(float(warn), float(warn + extra))
    assert parse_age_limit(format_age_limit(limit)) == limit


@given(st.floats(0, 1), st.floats(0, 1))
def test_capacity_limits_read_back(a: float, b: float) -> None:
    """Any fraction pair is written (as percentages where exact) so that it parses back to itself."""
    limit = Limit(*sorted((a, b)))
    assert parse_capacity_limit(format_capacity_limit(limit)) == limit
