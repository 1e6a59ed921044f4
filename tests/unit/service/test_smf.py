"""Tests for the SMF control adapter: the exact svcadm/svcs command lines, and how their output is read."""

from __future__ import annotations

import pytest

from tests.unit.service.fakes import FakeRunner
from zfstm.errors import FileServerError, UsageError
from zfstm.service.smf import SmfControl, parse_svcs_state

FMRI = "svc:/network/netatalk:default"


def test_stop_runs_synchronous_persistent_disable() -> None:
    """stop() runs exactly `svcadm disable -s FMRI` (persistent, waits for the state)."""
    runner = FakeRunner()
    SmfControl(fmri=FMRI, runner=runner).stop()
    assert runner.calls == [("svcadm", "disable", "-s", FMRI)]


def test_start_runs_synchronous_enable() -> None:
    """start() runs exactly `svcadm enable -s FMRI`."""
    runner = FakeRunner()
    SmfControl(fmri=FMRI, runner=runner).start()
    assert runner.calls == [("svcadm", "enable", "-s", FMRI)]


@pytest.mark.parametrize(
    ("output", "running"),
    [
        ("online\n", True),
        ("degraded\n", True),
        ("legacy_run\n", True),
        ("offline*\n", True),  # offline, going online: processes may already exist
        ("online*\n", True),
        ("disabled\n", False),
        ("maintenance\n", False),
        ("offline\n", False),
        ("uninitialized\n", False),
    ],
)
def test_is_running_reads_svcs_state(output: str, running: bool) -> None:
    """is_running() asks `svcs -H -o state FMRI` and is True for running or transitioning states."""
    runner = FakeRunner()
    runner.reply(("svcs", "-H", "-o", "state", FMRI), stdout=output)
    assert SmfControl(fmri=FMRI, runner=runner).is_running() is running
    assert runner.calls == [("svcs", "-H", "-o", "state", FMRI)]


def test_failed_enable_names_the_service_and_says_where_to_look() -> None:
    """A failing svcadm gives FileServerError with svcadm's words and the `svcs -xv` hint."""
    runner = FakeRunner()
    runner.reply(
        ("svcadm", "enable", "-s", FMRI),
        returncode=1,
        stderr=f'svcadm: Instance "{FMRI}" has been placed in maintenance.\n',
    )
    with pytest.raises(FileServerError) as info:
        SmfControl(fmri=FMRI, runner=runner).start()
    assert "placed in maintenance" in str(info.value)
    assert f"svcs -xv {FMRI}" in str(info.value)


def test_unknown_fmri_is_an_error_not_stopped() -> None:
    """svcs failing (no such instance) is an error, never read as 'not running'."""
    runner = FakeRunner()
    runner.reply(
        ("svcs", "-H", "-o", "state", "svc:/nope"),
        returncode=1,
        stderr="svcs: Pattern 'svc:/nope' doesn't match any instances\n",
    )
    with pytest.raises(FileServerError, match="doesn't match"):
        SmfControl(fmri="svc:/nope", runner=runner).is_running()


def test_several_instances_are_refused() -> None:
    """An FMRI that matches several instances is refused instead of picking one."""
    with pytest.raises(FileServerError, match="exactly one instance"):
        parse_svcs_state("svc:/network/netatalk", "online\ndisabled\n")


def test_unknown_state_is_refused() -> None:
    """A state zfstm does not know is not guessed about."""
    with pytest.raises(FileServerError, match="does not know"):
        parse_svcs_state(FMRI, "sleeping\n")


@pytest.mark.parametrize("fmri", ["", "-t", "svc:/a b"])
def test_option_like_fmri_is_refused(fmri: str) -> None:
    """An FMRI that svcadm would parse as an option (or split) is refused before anything runs."""
    with pytest.raises(UsageError):
        SmfControl(fmri=fmri, runner=FakeRunner())
