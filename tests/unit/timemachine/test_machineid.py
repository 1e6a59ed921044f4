"""MachineID.plist: verification state (unknown values kept), dates, host UUID, and the verdict."""

from __future__ import annotations

import plistlib
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.timemachine.fixtures import HOST_UUID, machine_id_plist
from tests.unit.timemachine.strategies import formats, plist_dates
from zfstm.timemachine.machineid import (
    MachineId,
    Verdict,
    VerificationState,
    combine_verdicts,
    parse_machine_id,
    verdict_of,
)
from zfstm.timemachine.plist import Unreadable

states = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(st.none() | states, st.none() | plist_dates, st.none() | plist_dates, formats)
def test_round_trip(
    state: int | None, verified: datetime | None, declined: datetime | None, fmt: plistlib.PlistFormat
) -> None:
    """Every field survives XML and binary plists, dates in UTC, absent fields as None."""
    parsed = parse_machine_id(
        machine_id_plist(verification_state=state, verification_date=verified, recovery_declined=declined, fmt=fmt)
    )
    assert isinstance(parsed, MachineId)
    assert parsed.host_uuid == HOST_UUID
    assert parsed.verification_state == state
    assert parsed.verification_date == verified
    assert parsed.recovery_backup_declined_date == declined
    assert parsed.problems == ()


@given(states)
def test_unknown_states_are_preserved(value: int) -> None:
    """Any integer becomes a VerificationState that keeps its value; only 0, 1, 2 are known."""
    state = VerificationState(value)
    assert int(state) == value
    assert state.is_known == (value in (0, 1, 2))
    if not state.is_known:
        assert state.name == f"UNKNOWN_{value}"


def test_verdicts() -> None:
    """1 is ok, 2 is failed; 0 (reset), unknown values, absence and unreadable files are unknown."""

    def verdict(state: int | None) -> Verdict:
        return verdict_of(parse_machine_id(machine_id_plist(verification_state=state)))

    assert verdict(1) is Verdict.OK
    assert verdict(2) is Verdict.FAILED
    assert verdict(0) is Verdict.UNKNOWN
    assert verdict(7) is Verdict.UNKNOWN
    assert verdict(None) is Verdict.UNKNOWN
    assert verdict_of(Unreadable("gone", missing=True)) is Verdict.UNKNOWN


def test_wrong_types_are_problems() -> None:
    """A string state or a numeric date is reported and read as absent, not guessed."""
    parsed = parse_machine_id(plistlib.dumps({"VerificationState": "1", "VerificationDate": 5}))
    assert isinstance(parsed, MachineId)
    assert parsed.verification_state is None
    assert parsed.verification_date is None
    assert len(parsed.problems) == 2


@given(st.lists(st.sampled_from(Verdict)))
def test_combine_verdicts(verdicts: list[Verdict]) -> None:
    """A share is failed if any bundle failed, ok only if every bundle is ok and there is one, else unknown."""
    combined = combine_verdicts(verdicts)
    if Verdict.FAILED in verdicts:
        assert combined is Verdict.FAILED
    elif verdicts and set(verdicts) == {Verdict.OK}:
        assert combined is Verdict.OK
    else:
        assert combined is Verdict.UNKNOWN
