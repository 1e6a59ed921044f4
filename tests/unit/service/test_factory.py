"""Tests for building controls from configuration facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.service.fakes import FakeControl, FakeRunner
from zfstm.config.model import FileServerKind
from zfstm.errors import UsageError
from zfstm.service.control import NETATALK_PROCESSES, SAMBA_PROCESSES
from zfstm.service.factory import make_control, verified_server
from zfstm.service.holder_scan import LinuxProcScan
from zfstm.service.pidfile import PidfileControl
from zfstm.service.smf import SmfControl
from zfstm.service.systemd import SystemdControl
from zfstm.service.verified import always_answers


def test_make_control_per_manager() -> None:
    """smf, systemd and pidfile each give their adapter, named after the service."""
    runner = FakeRunner()
    smf = make_control("smf", "svc:/network/netatalk:default", runner=runner)
    assert isinstance(smf, SmfControl) and smf.name == "svc:/network/netatalk:default"
    unit = make_control("systemd", "netatalk", runner=runner)
    assert isinstance(unit, SystemdControl) and unit.name == "netatalk.service"
    pid = make_control("pidfile", "/run/lock/netatalk", argv=["netatalk"], program="netatalk")
    assert isinstance(pid, PidfileControl) and pid.pidfile == Path("/run/lock/netatalk")


def test_pidfile_needs_argv_and_program() -> None:
    """A pidfile adapter without the argv to start it or the program to check is a usage error."""
    with pytest.raises(UsageError, match="argv"):
        make_control("pidfile", "/run/x.pid")


def test_unknown_manager_and_server_are_refused() -> None:
    """Unknown kinds are refused with the accepted values."""
    with pytest.raises(UsageError, match="smf, systemd or pidfile"):
        make_control("launchd", "x")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="netatalk or samba"):
        verified_server("nfs", FakeControl(), [])  # type: ignore[arg-type]


def test_verified_server_watches_the_right_processes() -> None:
    """Netatalk watches its four daemons and asks its DSI status; Samba watches smbd and has no probe."""
    netatalk = verified_server(FileServerKind.NETATALK, FakeControl(), [Path("/tank/tm")])
    samba = verified_server(FileServerKind.SAMBA, FakeControl(), [Path("/tank/tm")])
    if isinstance(netatalk.scan, LinuxProcScan) and isinstance(samba.scan, LinuxProcScan):
        assert netatalk.scan.names == NETATALK_PROCESSES
        assert samba.scan.names == SAMBA_PROCESSES
    assert netatalk.answers is not always_answers
    assert samba.answers is always_answers
    assert netatalk.watched == (Path("/tank/tm"),)
