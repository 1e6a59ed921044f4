"""Policies and durations written as text (flags, --policy, config) read back exactly, and mistakes are collected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import policies
from zfstm.errors import ConfigError
from zfstm.retention import Pick, Policy, SpaceTier, Tier, Unit
from zfstm.retention.durations import format_duration, parse_duration
from zfstm.retention.policy_text import describe_policy, parse_limit, parse_policy_spec


@given(st.integers(1, 10**8))
def test_duration_round_trip(seconds: int) -> None:
    """format_duration writes what parse_duration reads back as the same duration."""
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize(
    ("text", "seconds"), [("24h", 86400), ("31d", 31 * 86400), ("2w", 14 * 86400), ("1h30m", 5400), (" 90S ", 90)]
)
def test_duration_examples(text: str, seconds: int) -> None:
    """Durations are numbers with units s m h d w, added up."""
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "24", "h", "0h", "1x", "-1h", "1h 30m"])
def test_duration_mistakes(text: str) -> None:
    """Anything else is a ConfigError saying how to write a duration."""
    with pytest.raises(ConfigError, match="duration"):
        parse_duration(text)


def test_limits() -> None:
    """A limit is a duration, forever (no age limit) or none (the tier is absent)."""
    assert parse_limit("forever") is None
    assert parse_limit("all") is None
    assert parse_limit("none") is False
    assert parse_limit("36h") == timedelta(hours=36)


@given(policies())
def test_describe_round_trips(policy: Policy) -> None:
    """describe_policy writes the compact form parse_policy_spec reads back to an equal policy."""
    assert parse_policy_spec(describe_policy(policy)) == policy


def test_spec_example() -> None:
    """A --policy string sets tiers and options over the defaults."""
    policy = parse_policy_spec(
        "keep_all=1h, hourly=48h, daily=none, pick=first, week_start=sun, tz=Europe/Berlin,"
        "space_above=90%, space_per_run=2"
    )
    assert policy.tiers == (Tier(None, timedelta(hours=1)), Tier(Unit.HOUR, timedelta(hours=48)), Tier(Unit.WEEK, None))
    assert (policy.pick, policy.week_start, policy.zone) == (Pick.FIRST, 6, "Europe/Berlin")
    assert policy.space == SpaceTier(above=0.9, per_run=2)


def test_spec_mistakes_are_reported_together() -> None:
    """Every wrong setting is named in one error."""
    with pytest.raises(ConfigError) as caught:
        parse_policy_spec("hourly=soon,colour=blue,pick=middle,min_keep=0,noequals")
    assert "noequals" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        parse_policy_spec("hourly=soon,colour=blue,pick=middle")
    message = str(caught.value)
    assert "soon" in message and "colour" in message and "middle" in message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"zone": "Nowhere/Land"}, "unknown time zone"),
        ({"min_keep": 0}, "min_keep"),
        ({"week_start": 7}, "week_start"),
        ({"max_destroy_share": 0.0}, "max_destroy_share"),
        ({"tiers": (Tier(Unit.DAY, None), Tier(Unit.DAY, timedelta(days=1)))}, "twice"),
    ],
)
def test_policy_validation(kwargs: dict[str, object], message: str) -> None:
    """Impossible policies are refused when built."""
    with pytest.raises(ConfigError, match=message):
        Policy(**kwargs)  # type: ignore[arg-type]


def test_tier_validation() -> None:
    """An `all` tier needs a limit; limits must be positive; the space threshold is a fraction."""
    with pytest.raises(ConfigError):
        Tier(None, None)
    with pytest.raises(ConfigError):
        Tier(Unit.HOUR, timedelta(0))
    with pytest.raises(ConfigError):
        SpaceTier(above=1.5)
