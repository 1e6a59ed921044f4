"""`zfstm daemon`: the exit-code contract of docs/services.md (0 after SIGTERM, 96 for what a restart cannot fix)."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from tests.unit.timemachine.fixtures import NOW
from zfstm.cli.daemon import _stop_on_signals, loop
from zfstm.cli.main import main
from zfstm.errors import DatasetBusy, ZfsPermissionDenied
from zfstm.lifecycle.decide import TickPlan
from zfstm.lifecycle.outcome import Failure, TickReport
from zfstm.service.stop_request import StopRequest

EMPTY = TickReport(TickPlan(NOW, (), (), (), (), ()), False)


def test_config_error_at_start_exits_96(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad configuration makes the daemon exit 96 (SMF maintenance) with file, line and key on stderr."""
    path = tmp_path / "bad.toml"
    path.write_text('[[targets]]\ndataset = "tank/tm"\nquiet = 1\n')
    assert main(["daemon", "--config", str(path)]) == 96
    assert f"{path}:3: targets[0].quiet" in capsys.readouterr().err


def test_missing_config_under_smf_exits_96(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Under SMF (SMF_FMRI set) a missing file also exits 96 and says how to clear the maintenance state."""
    monkeypatch.setenv("SMF_FMRI", "svc:/application/zfstm:default")
    assert main(["daemon", "--config", str(tmp_path / "missing.toml")]) == 96
    assert "svcadm clear" in capsys.readouterr().err


def test_loop_stops_cleanly_with_0() -> None:
    """When asked to stop, the loop finishes its tick and returns 0."""
    stop = StopRequest()
    ticks: list[int] = []

    def tick() -> TickReport:
        ticks.append(1)
        if len(ticks) == 3:
            stop.request()
        return EMPTY

    assert loop(tick, timedelta(seconds=0), stop) == 0
    assert len(ticks) == 3


def test_transient_errors_keep_the_loop_running() -> None:
    """A busy dataset in one tick is logged; the next tick runs."""
    stop = StopRequest()
    calls: list[int] = []

    def tick() -> TickReport:
        calls.append(1)
        if len(calls) == 1:
            raise DatasetBusy("busy", dataset="tank/tm")
        stop.request()
        return EMPTY

    assert loop(tick, timedelta(seconds=0), stop) == 0
    assert len(calls) == 2


def test_missing_delegation_exits_96() -> None:
    """ZfsPermissionDenied (raised, or recorded as a tick failure) cannot be fixed by a restart: exit 96."""
    stop = StopRequest()

    def raising() -> TickReport:
        raise ZfsPermissionDenied("permission denied", dataset="tank/tm", operation="snapshot")

    assert loop(raising, timedelta(seconds=0), stop) == 96
    failing = TickReport(EMPTY.plan, False, failures=(Failure("tm", "snapshot", "denied", 8, fatal=True),))
    assert loop(lambda: failing, timedelta(seconds=0), stop) == 96


def test_sigterm_requests_the_stop() -> None:
    """SIGTERM and SIGHUP end the daemon through its stop request (exit 0), not through an exception."""
    old_term, old_hup = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)
    try:
        with StopRequest() as stop:
            _stop_on_signals(stop)
            os.kill(os.getpid(), signal.SIGTERM)
            assert stop.wait(5)
            assert stop.reason == "SIGTERM"
            assert loop(lambda: EMPTY, timedelta(hours=1), stop) == 0
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGHUP, old_hup)


def test_start_log_names_the_backend_and_why_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The "started" line on stderr says which ZFS backend and why."""
    from zfstm.cli import daemon

    path = tmp_path / "c.toml"
    path.write_text('[backend]\nkind = "cli"\n[[targets]]\ndataset = "tank/tm"\n')
    ticks: list[int] = []

    def one_tick(tick: object, _interval: timedelta, stop: StopRequest) -> int:
        ticks.append(1)
        return 0

    monkeypatch.setattr(daemon, "loop", one_tick)
    assert main(["daemon", "--config", str(path)]) == 0
    started = [line for line in capsys.readouterr().err.splitlines() if "started:" in line]
    assert len(started) == 1 and started[0].endswith('ZFS backend: the zfs command (configured: kind = "cli")')
    assert ticks == [1]


def test_ticks_open_the_backend_without_announcing_it(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from zfstm.cli.config import backend_for
    from zfstm.config.load import parse_config

    config = parse_config('[backend]\nkind = "cli"\n[[targets]]\ndataset = "tank/tm"\n', "c.toml", platform="linux")
    with caplog.at_level(logging.INFO, logger="zfstm"):
        backend_for(config, announce=False)
    assert "ZFS backend" not in caplog.text


def test_a_backend_that_cannot_work_exits_96_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """kind = "lzc" without pyzfs: the daemon says so at start and exits 96 (a restart will not help)."""
    from zfstm.cli import daemon
    from zfstm.errors import PyzfsMissing

    def no_pyzfs(*_args: object) -> object:
        raise PyzfsMissing("pyzfs (import libzfs_core) is not installed")

    monkeypatch.setattr(daemon, "choose_backend", no_pyzfs)
    path = tmp_path / "c.toml"
    path.write_text('[backend]\nkind = "lzc"\n[[targets]]\ndataset = "tank/tm"\n')
    assert main(["daemon", "--config", str(path)]) == 96
    assert "pyzfs (import libzfs_core) is not installed" in capsys.readouterr().err
