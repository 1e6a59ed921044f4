"""Policies written as text: tier limits (``24h``, ``forever``, ``none``) and the compact ``--policy`` form.

``hourly=24h,daily=31d,weekly=forever,pick=last,min_keep=1,week_start=monday,tz=Europe/Berlin`` gives a whole
policy in one string (the same keys as the command-line flags); keys not given keep their defaults. Shared by the
command line and the configuration file so that both read limits the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import timedelta

import attrs

from zfstm.errors import ConfigError
from zfstm.retention.durations import format_duration, parse_duration
from zfstm.retention.policy import DEFAULT_POLICY, WEEKDAYS, Pick, Policy, SpaceTier, Tier, Unit

#: A tier limit: a duration, or one of these words.
FOREVER = ("forever", "all", "unlimited")
ABSENT = ("none", "off", "no")

_UNITS = {unit.value: unit for unit in Unit}
_TIER_KEYS = (*_UNITS, "keep_all")


def parse_limit(text: str) -> timedelta | bool | None:
    """``24h`` -> a timedelta; ``forever``/``all`` -> None (no age limit); ``none``/``off`` -> False (no tier)."""
    word = text.strip().lower()
    if word in FOREVER:
        return None
    if word in ABSENT:
        return False
    return parse_duration(word)


def format_limit(limit: timedelta | None) -> str:
    return "forever" if limit is None else format_duration(limit)


def parse_fraction(text: str, what: str) -> float:
    """``0.9`` or ``90%``; ``nan`` and ``inf`` are refused (every comparison with nan is false: no tier would act)."""
    cleaned = text.strip()
    try:
        value = float(cleaned[:-1]) / 100 if cleaned.endswith("%") else float(cleaned)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ConfigError(f"{what}: {text[:40]!r} is not a fraction; write e.g. 0.5 or 50%")
    return value


def parse_weekday(text: str) -> int:
    word = text.strip().lower()
    for index, name in enumerate(WEEKDAYS):
        if word in {name, name[:3]}:
            return index
    raise ConfigError(f"week start {text!r}: write a weekday such as monday or sunday")


def parse_policy_spec(text: str, base: Policy = DEFAULT_POLICY) -> Policy:
    """Read ``key=value,key=value`` over ``base``; all mistakes are reported at once."""
    pairs: dict[str, str] = {}
    problems: list[str] = []
    for item in (part.strip() for part in text.replace(";", ",").split(",")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep:
            problems.append(f"{item!r} has no '=' (write key=value)")
            continue
        pairs[key.strip().lower().replace("-", "_")] = value.strip()
    if problems:
        raise ConfigError("retention policy: " + "; ".join(problems))
    return policy_from_settings(pairs, base)


_OPTIONS: dict[str, tuple[str, Callable[[str], object]]] = {
    "tz": ("zone", str),
    "zone": ("zone", str),
    "pick": ("pick", lambda value: Pick(value.lower())),
    "min_keep": ("min_keep", int),
    "week_start": ("week_start", parse_weekday),
    "clock_tolerance": ("clock_tolerance", parse_duration),
    "max_destroy_share": ("max_destroy_share", lambda value: parse_fraction(value, "max_destroy_share")),
    "breaker_min": ("breaker_min", int),
}
_SPACE_OPTIONS: dict[str, tuple[str, Callable[[str], object]]] = {
    "space_above": ("above", lambda value: parse_fraction(value, "space_above")),
    "space_per_run": ("per_run", int),
    "space_basis": ("basis", str.lower),
}


def policy_from_settings(settings: Mapping[str, str], base: Policy = DEFAULT_POLICY) -> Policy:
    """Apply text settings (tier limits and options) over ``base``; unknown keys and bad values fail together."""
    problems: list[str] = []
    tiers = {tier.name: tier for tier in base.tiers}
    changes: dict[str, object] = {}
    space_changes: dict[str, object] = {}
    for key, value in settings.items():
        try:
            if key in _TIER_KEYS:
                _set_tier(tiers, "all" if key == "keep_all" else key, parse_limit(value))
            elif key in _OPTIONS:
                field, convert = _OPTIONS[key]
                changes[field] = convert(value)
            elif key in _SPACE_OPTIONS:
                field, convert = _SPACE_OPTIONS[key]
                space_changes[field] = convert(value)
            else:
                problems.append(f"unknown setting {key!r}")
        except ConfigError as exc:
            problems.append(str(exc))
        except ValueError:
            problems.append(f"{key}={value!r} is not valid")
    space = base.space
    if space_changes:
        try:
            space = _space(space, space_changes)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("retention policy: " + "; ".join(problems))
    ordered = tuple(sorted(tiers.values(), key=lambda tier: _TIER_ORDER.index(tier.name)))
    try:
        return attrs.evolve(base, tiers=ordered, space=space, **changes)  # type: ignore[arg-type]
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"retention policy: {exc}") from None


def _set_tier(tiers: dict[str, Tier], name: str, limit: timedelta | bool | None) -> None:
    if limit is False:
        tiers.pop(name, None)
    else:
        assert not isinstance(limit, bool)
        tiers[name] = Tier(None if name == "all" else _UNITS[name], limit)


def _space(space: SpaceTier | None, changes: dict[str, object]) -> SpaceTier:
    if space is None:
        if "above" not in changes:
            raise ConfigError("space tier: set space_above (e.g. 90%) to enable it")
        return SpaceTier(**changes)  # type: ignore[arg-type]
    return attrs.evolve(space, **changes)  # type: ignore[arg-type]


_TIER_ORDER = ("all", *(unit.value for unit in Unit))


def describe_policy(policy: Policy) -> str:
    """The policy in the compact text form ``parse_policy_spec`` reads back."""
    parts = [f"{'keep_all' if tier.unit is None else tier.name}={format_limit(tier.max_age)}" for tier in policy.tiers]
    present = {tier.name for tier in policy.tiers}
    parts += [f"{tier.name}=none" for tier in DEFAULT_POLICY.tiers if tier.name not in present]
    parts += [
        f"pick={policy.pick.value}",
        f"min_keep={policy.min_keep}",
        f"week_start={policy.week_start_name}",
        f"tz={policy.zone}",
    ]
    if policy.space is not None:
        parts += [
            f"space_above={policy.space.above:g}",
            f"space_per_run={policy.space.per_run}",
            f"space_basis={policy.space.basis}",
        ]
    return ",".join(parts)
