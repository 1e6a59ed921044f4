"""Generated configurations survive the trip through the effective-config renderer and back."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from zfstm.check.verdict import Limit, State, Thresholds, parse_age_limit, parse_capacity_limit
from zfstm.config.load import parse_config
from zfstm.config.render import config_document, render_toml, to_toml

DURATIONS = st.sampled_from(["30s", "5m", "10m", "1h30m", "2h", "24h", "3d", "31d"])
LIMITS = st.sampled_from(["none", "forever", "12h", "24h", "7d", "31d", "52w"])
ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
WORD = st.from_regex(r"[a-z][a-z0-9-]{0,7}", fullmatch=True)


def _optional(key: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(st.just({}), values.map(lambda value: {key: value}))


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(part)
    return merged


retention = st.tuples(
    _optional("hourly", LIMITS),
    _optional("daily", LIMITS),
    _optional("weekly", LIMITS),
    _optional("monthly", LIMITS),
    _optional("keep_all", st.sampled_from(["none", "2h", "1d"])),
    _optional("pick", st.sampled_from(["first", "last"])),
    _optional("min_keep", st.integers(1, 20)),
    _optional("week_start", st.sampled_from(["monday", "sunday", "wednesday"])),
    _optional("time_zone", ZONES),
    _optional("max_destroy_share", st.sampled_from([0.25, 0.5, 1.0])),
    _optional("space", st.fixed_dictionaries({"above": st.sampled_from([0.8, 0.9]), "per_run": st.integers(1, 5)})),
).map(lambda parts: _merge(list(parts)))

detector = st.tuples(
    _optional("quiet_period", st.one_of(DURATIONS, st.just("0s"))),
    _optional("completion_slack", DURATIONS),
    _optional("written_noise", st.one_of(st.integers(0, 1 << 30), st.sampled_from(["1MiB", "64K"]))),
    _optional("max_interval", st.one_of(DURATIONS, st.just("none"))),
    _optional("skip_empty", st.booleans()),
).map(lambda parts: _merge(list(parts)))

AGE_LIMITS = st.sampled_from(["2d,7d", "26h,50h", "1h30m, 3h", "12h,12h", "1w,31d", "90s,3600s"])
check = st.tuples(
    _optional("backup_age", AGE_LIMITS),
    _optional("snapshot_age", AGE_LIMITS),
    _optional("known_good_age", AGE_LIMITS),
    _optional("capacity", st.sampled_from(["80%,90%", "0.5,0.75", "7%, 100%", "0.333,0.9", "0,1", "12.5%,87.5%"])),
    _optional("verification_failed", st.sampled_from(["warning", "critical", "Warning"])),
    _optional("missing", st.sampled_from(["ok", "warning", "critical", "unknown"])),
).map(lambda parts: _merge(list(parts)))

file_server: st.SearchStrategy[dict[str, str]] = st.one_of(
    st.just({}),
    st.just({"kind": "none"}),
    st.fixed_dictionaries({"kind": st.just("samba"), "service": WORD.map(lambda w: f"{w}.service")}),
    st.fixed_dictionaries({"kind": st.just("netatalk"), "afp_conf": WORD.map(lambda w: f"/etc/{w}/afp.conf")}),
)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 3))
    names = draw(st.lists(WORD, min_size=count, max_size=count, unique=True))
    targets = []
    for name in names:
        pool = draw(st.sampled_from(["tank", "backup"]))
        target: dict[str, Any] = {"name": name, "dataset": f"{pool}/{name}"}
        if draw(st.booleans()):
            target["cnid_dataset"] = f"{pool}/cnid-db"
        if draw(st.booleans()):
            target["replica"] = draw(st.booleans())
        if draw(st.booleans()):
            target["sparsebundles"] = [f"{w}.sparsebundle" for w in draw(st.lists(WORD, max_size=2))]
        sections = (("retention", retention), ("detector", detector), ("file_server", file_server), ("check", check))
        for section, strategy in sections:
            value = draw(strategy)
            if value:
                target[section] = value
        targets.append(target)
    document: dict[str, Any] = {"interval": draw(DURATIONS)}
    if draw(st.booleans()):
        document["backend"] = {"kind": "cli", "prefix": ["ssh", draw(WORD)], "prefix_joins": draw(st.booleans())}
    if draw(st.booleans()):
        document["naming"] = {"adopt": [{"zone": draw(ZONES)}]}
    if draw(st.booleans()):
        document["hooks"] = {"after_known_good": ["zrepl", "signal", "wakeup", draw(WORD)], "timeout": draw(DURATIONS)}
    for section, strategy in (("retention", retention), ("detector", detector), ("check", check)):
        value = draw(strategy)
        if value:
            document[section] = value
    document["targets"] = targets
    return document


@given(documents())
def test_effective_config_round_trips(document: dict[str, Any]) -> None:
    """Parsing a generated file, rendering the effective config and parsing that gives the same configuration."""
    config = parse_config(to_toml(document), "gen.toml", platform="linux")
    again = parse_config(render_toml(config), "gen.toml", platform="linux")
    assert again == config
    assert config_document(again) == config_document(config)


@given(documents())
def test_generated_settings_reach_the_targets(document: dict[str, Any]) -> None:
    """Target-level settings win over shared ones, which win over defaults."""
    config = parse_config(to_toml(document), "gen.toml", platform="linux")
    for raw, target in zip(document["targets"], config.targets, strict=True):
        zone = raw.get("retention", {}).get("time_zone", document.get("retention", {}).get("time_zone", "UTC"))
        assert target.retention.zone == zone
        assert target.dataset.full == raw["dataset"]
        assert target.check == _expected_check(raw.get("check", {}), document.get("check", {}))


def _expected_check(own: dict[str, str], shared: dict[str, str]) -> Thresholds:
    """Default < [check] < [targets.check], key by key."""
    chosen = {**shared, **own}
    default = Thresholds()

    def age(key: str, limit: Limit) -> Limit:
        return parse_age_limit(chosen[key]) if key in chosen else limit

    def state(key: str, value: State) -> State:
        return State[chosen[key].upper()] if key in chosen else value

    return Thresholds(
        backup_age=age("backup_age", default.backup_age),
        snapshot_age=age("snapshot_age", default.snapshot_age),
        known_good_age=age("known_good_age", default.known_good_age),
        capacity=parse_capacity_limit(chosen["capacity"]) if "capacity" in chosen else default.capacity,
        verification_failed=state("verification_failed", default.verification_failed),
        missing=state("missing", default.missing),
    )
