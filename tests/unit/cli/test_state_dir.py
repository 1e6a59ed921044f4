"""Where rollback journals live by default: somewhere that survives a reboot."""

from __future__ import annotations

from pathlib import Path

from zfstm.cli.config import default_state_dir


def test_root_on_linux_uses_var_lib() -> None:
    """Root and services keep state under /var/lib/zfstm on Linux, never in the tmpfs run directory."""
    assert default_state_dir({}, euid=0, platform="linux") == Path("/var/lib/zfstm")


def test_smf_service_user_on_illumos_uses_var() -> None:
    """An SMF service (non-root) keeps state under /var/zfstm/state, which the account service creates."""
    assert default_state_dir({"SMF_FMRI": "svc:/application/zfstm:default"}, euid=901, platform="sunos5") == Path(
        "/var/zfstm/state"
    )


def test_other_users_use_xdg_state_home() -> None:
    """An interactive non-root user gets $XDG_STATE_HOME/zfstm, or ~/.local/state/zfstm."""
    assert default_state_dir({"XDG_STATE_HOME": "/s"}, euid=1000, platform="linux") == Path("/s/zfstm")
    assert default_state_dir({"HOME": "/home/u"}, euid=1000, platform="linux") == Path("/home/u/.local/state/zfstm")


def test_environment_overrides() -> None:
    """ZFSTM_STATE_DIR wins over every default."""
    assert default_state_dir({"ZFSTM_STATE_DIR": "/x"}, euid=0, platform="linux") == Path("/x")
