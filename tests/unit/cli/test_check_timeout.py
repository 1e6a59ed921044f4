"""`zfstm check --timeout SECONDS`: a check that takes too long answers UNKNOWN (3) itself and says why."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from zfstm.cli import check as check_cli
from zfstm.cli.main import main
from zfstm.deadline import deadline, positive_seconds
from zfstm.errors import DeadlineExceeded


def test_a_slow_check_is_unknown_after_its_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def hangs(_args: object) -> int:
        time.sleep(5)
        return 0

    monkeypatch.setattr(check_cli, "_run", hangs)
    started = time.monotonic()
    assert main(["check", "--timeout", "0.2", "--config", str(tmp_path / "none.toml")]) == 3
    assert time.monotonic() - started < 2
    assert capsys.readouterr().out == "ZFSTM UNKNOWN - no answer within 0.2 s (--timeout)\n"
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.default_int_handler, None)


def test_without_timeout_there_is_no_alarm(monkeypatch: pytest.MonkeyPatch) -> None:
    with deadline(None):
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_deadline_raises_in_the_body_and_clears_the_timer() -> None:
    with pytest.raises(DeadlineExceeded, match=r"0\.05 s"), deadline(0.05):
        time.sleep(2)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


@pytest.mark.parametrize("text", ["0", "-1", "soon", "nan"])
def test_timeout_must_be_positive_seconds(text: str) -> None:
    with pytest.raises(ValueError, match="seconds above 0"):
        positive_seconds(text)
    assert positive_seconds("2.5") == 2.5
