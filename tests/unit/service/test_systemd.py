"""Tests for the systemd control adapter: the exact systemctl command lines, and how is-active is read."""

from __future__ import annotations

import pytest

from tests.unit.service.fakes import FakeRunner
from zfstm.errors import FileServerError, UsageError
from zfstm.service.systemd import SystemdControl


def test_stop_and_start_run_systemctl() -> None:
    """stop() and start() run exactly `systemctl stop UNIT` and `systemctl start UNIT`."""
    runner = FakeRunner()
    control = SystemdControl(unit="netatalk.service", runner=runner)
    control.stop()
    control.start()
    assert runner.calls == [("systemctl", "stop", "netatalk.service"), ("systemctl", "start", "netatalk.service")]


def test_bare_unit_name_gets_service_suffix() -> None:
    """A unit named without suffix means the .service unit."""
    runner = FakeRunner()
    control = SystemdControl(unit="netatalk", runner=runner)
    control.stop()
    assert control.name == "netatalk.service"
    assert runner.calls == [("systemctl", "stop", "netatalk.service")]


@pytest.mark.parametrize(
    ("stdout", "code", "running"),
    [
        ("active\n", 0, True),
        ("activating\n", 3, True),
        ("deactivating\n", 3, True),
        ("reloading\n", 0, True),
        ("inactive\n", 3, False),
        ("failed\n", 3, False),
        ("unknown\n", 4, False),
    ],
)
def test_is_running_reads_is_active(stdout: str, code: int, running: bool) -> None:
    """is_running() runs `systemctl is-active UNIT`; transitions count as running (processes may exist)."""
    runner = FakeRunner()
    runner.reply(("systemctl", "is-active", "netatalk.service"), returncode=code, stdout=stdout)
    assert SystemdControl(unit="netatalk.service", runner=runner).is_running() is running


def test_failed_start_says_where_to_look() -> None:
    """A failing systemctl gives FileServerError with its message and the status/journal hints."""
    runner = FakeRunner()
    runner.reply(
        ("systemctl", "start", "netatalk.service"),
        returncode=1,
        stderr="Job for netatalk.service failed because the control process exited with error code.\n",
    )
    with pytest.raises(FileServerError) as info:
        SystemdControl(unit="netatalk.service", runner=runner).start()
    message = str(info.value)
    assert "control process exited" in message
    assert "systemctl status netatalk.service" in message
    assert "journalctl -u netatalk.service" in message


def test_silent_is_active_failure_is_an_error() -> None:
    """No state printed at all (e.g. no systemd) is an error, never 'not running'."""
    runner = FakeRunner()
    runner.reply(("systemctl", "is-active", "netatalk.service"), returncode=1, stderr="System has not been booted")
    with pytest.raises(FileServerError, match="booted"):
        SystemdControl(unit="netatalk.service", runner=runner).is_running()


def test_unknown_state_is_refused() -> None:
    """An is-active answer zfstm does not know is not guessed about."""
    runner = FakeRunner()
    runner.reply(("systemctl", "is-active", "x.service"), stdout="weird\n")
    with pytest.raises(FileServerError, match="does not know"):
        SystemdControl(unit="x.service", runner=runner).is_running()


@pytest.mark.parametrize("unit", ["", "--now", "a b"])
def test_option_like_unit_is_refused(unit: str) -> None:
    """A unit name systemctl would read as an option is refused."""
    with pytest.raises(UsageError):
        SystemdControl(unit=unit, runner=FakeRunner())
