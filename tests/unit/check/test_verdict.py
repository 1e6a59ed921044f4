"""The pure monitoring verdict: thresholds, the worst state, the summary line and its performance data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfstm.check.verdict import DAY, Limit, State, TargetFacts, Thresholds, check_json, evaluate, summary_line, worst
from zfstm.config.load import parse_config
from zfstm.config.model import Target
from zfstm.lifecycle.status import cnid_layout_note
from zfstm.timemachine.machineid import Verdict

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def facts(**kw: object) -> TargetFacts:
    base: dict[str, object] = {
        "target": "tm", "last_backup": NOW - timedelta(hours=1), "verdict": Verdict.OK,
        "last_snapshot": NOW - timedelta(minutes=50), "known_good": NOW - timedelta(minutes=50), "capacity": 0.4,
    }  # fmt: skip
    base.update(kw)
    return TargetFacts(**base)  # type: ignore[arg-type]


DEFAULTS = Thresholds()


def state_of(found: TargetFacts, thresholds: Thresholds = DEFAULTS) -> State:
    return worst([f.state for f in evaluate(found, thresholds, NOW)])


def test_healthy_target_is_ok() -> None:
    """A fresh backup, snapshot and known-good, verified, pool 40 % full: OK and exit 0."""
    findings = evaluate(facts(), Thresholds(), NOW)
    assert worst([f.state for f in findings]) is State.OK
    assert summary_line(findings).startswith("ZFSTM OK - tm: ok | ")
    assert check_json(findings, NOW)["exit_code"] == 0


def test_failed_verification_is_critical_and_says_what_to_do() -> None:
    """VerificationState 2 makes the check CRITICAL and points at rollback --last-good."""
    findings = evaluate(facts(verdict=Verdict.FAILED), Thresholds(), NOW)
    assert worst([f.state for f in findings]) is State.CRITICAL
    assert "rollback --last-good" in summary_line(findings)


def test_unfinished_rollback_is_critical() -> None:
    """An open rollback journal is CRITICAL with its description."""
    assert state_of(facts(unfinished_rollback="rollback of tank/tm is unfinished")) is State.CRITICAL


def test_old_backup_warns_then_goes_critical() -> None:
    """Backup age at 3 days is WARNING, at 8 days CRITICAL (defaults 2d,7d)."""
    assert state_of(facts(last_backup=NOW - timedelta(days=3))) is State.WARNING
    assert state_of(facts(last_backup=NOW - timedelta(days=8))) is State.CRITICAL


def test_capacity_thresholds_and_unknown() -> None:
    """85 % is WARNING, 95 % CRITICAL; an unreadable capacity alone is UNKNOWN."""
    assert state_of(facts(capacity=0.85)) is State.WARNING
    assert state_of(facts(capacity=0.95)) is State.CRITICAL
    assert state_of(facts(capacity=None)) is State.UNKNOWN


def test_missing_facts_use_the_configured_state() -> None:
    """A share without any backup yet is WARNING by default, OK when told so."""
    empty = facts(last_backup=None, last_snapshot=None, known_good=None)
    assert state_of(empty) is State.WARNING
    assert state_of(empty, Thresholds(missing=State.OK)) is State.OK


def test_future_dates_are_unknown_not_ok() -> None:
    """A backup dated in the future means a wrong clock: UNKNOWN, never silently OK."""
    assert state_of(facts(last_backup=NOW + timedelta(hours=3))) is State.UNKNOWN


def test_limit_rejects_warning_above_critical() -> None:
    """WARNING must not exceed CRITICAL."""
    with pytest.raises(ValueError, match="must be"):
        Limit(2.0, 1.0)


STATES = st.sampled_from(list(State))


@given(st.lists(STATES, min_size=1))
def test_worst_is_order_independent_and_critical_dominates(states: list[State]) -> None:
    """worst() ignores order; any CRITICAL wins; OK only when all are OK."""
    assert worst(states) is worst(list(reversed(states)))
    if State.CRITICAL in states:
        assert worst(states) is State.CRITICAL
    assert (worst(states) is State.OK) == all(s is State.OK for s in states)


@given(
    st.floats(min_value=0, max_value=30 * DAY),
    st.floats(min_value=0, max_value=30 * DAY),
    st.floats(min_value=0, max_value=30 * DAY),
)
def test_judge_is_monotonic_in_the_value(a: float, b: float, warn: float) -> None:
    """A larger value is never judged better than a smaller one."""
    limit = Limit(warn, warn * 2)
    rank = {State.OK: 0, State.WARNING: 1, State.CRITICAL: 2}
    low, high = sorted((a, b))
    assert rank[limit.judge(low)] <= rank[limit.judge(high)]


@given(st.integers(min_value=0, max_value=60 * 24 * 30))
def test_backup_age_state_matches_thresholds(minutes: int) -> None:
    """The backup_age finding is OK below 2d, WARNING below 7d, CRITICAL from 7d on."""
    found = evaluate(facts(last_backup=NOW - timedelta(minutes=minutes)), Thresholds(), NOW)
    age = next(f for f in found if f.metric == "backup_age")
    expected = State.OK if minutes < 2 * 24 * 60 else State.WARNING if minutes < 7 * 24 * 60 else State.CRITICAL
    assert age.state is expected


def test_performance_data_has_warn_crit_min_max() -> None:
    """Each perfdata item is 'label'=value[UOM];warn;crit;min;max with the thresholds the value was judged by."""
    findings = evaluate(facts(capacity=0.413), Thresholds(), NOW)
    perf = summary_line(findings).split(" | ", 1)[1].split()
    assert perf == [
        "'tm_backup_age'=3600s;172800;604800;0;",
        "'tm_snapshot_age'=3000s;172800;604800;0;",
        "'tm_known_good_age'=3000s;604800;1209600;0;",
        "'tm_capacity'=41.3%;80;90;0;100",
    ]


def test_performance_data_follows_the_configured_thresholds() -> None:
    thresholds = Thresholds(backup_age=Limit(26 * 3600, 50 * 3600), capacity=Limit(0.855, 0.95))
    line = summary_line(evaluate(facts(), thresholds, NOW))
    assert "'tm_backup_age'=3600s;93600;180000;0;" in line
    assert "'tm_capacity'=40.0%;85.5;95;0;100" in line


def test_a_netatalk_share_without_a_cnid_dataset_warns_and_names_the_fix() -> None:
    """Its rollbacks rebuild the CNID database instead of pairing it: WARNING, naming `zfstm cnid migrate`."""
    note = "its CNID database is not on a CNID dataset of its own ...: `zfstm cnid migrate tm` moves it"
    found = evaluate(facts(cnid_layout=note), DEFAULTS, NOW)
    layout = [f for f in found if f.metric == "cnid_layout"]
    assert [(f.state, f.message) for f in layout] == [(State.WARNING, note)]
    assert not [f for f in evaluate(facts(), DEFAULTS, NOW) if f.metric == "cnid_layout"]


def test_the_layout_note_names_netatalk_targets_without_a_cnid_dataset() -> None:
    """status and check say it for a Netatalk share without cnid_dataset, never for one with it or for Samba."""

    def target(extra: str, kind: str) -> Target:
        text = f'[[targets]]\nname = "tm"\ndataset = "tank/tm"\n{extra}\n[targets.file_server]\nkind = "{kind}"\n'
        return parse_config(text, "zfstm.toml").targets[0]

    note = cnid_layout_note(target("", "netatalk"))
    assert note is not None and "zfstm cnid migrate tm" in note
    assert cnid_layout_note(target('cnid_dataset = "tank/cnid"', "netatalk")) is None
    assert cnid_layout_note(target("", "samba")) is None
