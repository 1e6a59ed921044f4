"""Tests for the daemon's exit-code contract with SMF and systemd."""

from __future__ import annotations

import pytest

from zfstm.errors import (
    BusyError,
    ConfigError,
    EnvironmentMissing,
    FileServerError,
    PyzfsMissing,
    UsageError,
    ZfsError,
    ZfsPermissionDenied,
    ZfstmError,
)
from zfstm.service.smf_exit import SMF_EXIT_ERR_CONFIG, daemon_exit_code, under_smf


@pytest.mark.parametrize(
    "error",
    [ConfigError("x"), UsageError("x"), ZfsPermissionDenied("x"), EnvironmentMissing("x"), PyzfsMissing("x")],
)
def test_errors_a_restart_cannot_fix_exit_96(error: BaseException) -> None:
    """Configuration, delegation and missing tools exit 96: SMF puts a child service into maintenance at once."""
    assert daemon_exit_code(error) == SMF_EXIT_ERR_CONFIG == 96


@pytest.mark.parametrize(
    ("error", "code"),
    [(ZfsError("x"), 7), (FileServerError("x"), 10), (BusyError("x"), 5), (ZfstmError("x"), 1), (OSError(), 1)],
)
def test_other_errors_keep_their_code_so_the_manager_restarts(error: BaseException, code: int) -> None:
    """Everything else exits with a non-zero code other than 96: startd and systemd restart the daemon."""
    assert daemon_exit_code(error) == code


def test_clean_stop_is_zero() -> None:
    """No error means exit 0."""
    assert daemon_exit_code(None) == 0


def test_under_smf_looks_for_smf_fmri() -> None:
    """svc.startd sets SMF_FMRI for every method."""
    assert under_smf({"SMF_FMRI": "svc:/application/zfstm:default"})
    assert not under_smf({})
