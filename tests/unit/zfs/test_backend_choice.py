"""choose_backend: which backend `auto` and the configured kinds pick, and the reason that is logged and shown."""

from __future__ import annotations

import logging

import pytest

from zfstm.errors import PyzfsMissing, UsageError
from zfstm.zfs import BackendChoice, CommandPrefix, choose_backend

LOCAL = CommandPrefix()
SSH = CommandPrefix(("ssh", "gz"))


def lzc_ok() -> str | None:
    return None


def lzc_missing() -> str | None:
    return "pyzfs (import libzfs_core) is not installed"


def test_auto_picks_libzfs_core_when_it_works() -> None:
    choice = choose_backend("auto", LOCAL, lzc_reason=lzc_ok)
    assert choice == BackendChoice("lzc", "auto: pyzfs (libzfs_core) imports and /dev/zfs opens")
    assert choice.label == "libzfs_core (pyzfs)"


def test_auto_falls_back_to_the_zfs_command_and_says_why() -> None:
    choice = choose_backend("auto", LOCAL, lzc_reason=lzc_missing)
    assert (choice.kind, choice.label) == ("cli", "the zfs command")
    assert choice.reason == "auto: pyzfs (import libzfs_core) is not installed"


def test_a_prefix_means_the_zfs_command_without_asking_for_pyzfs() -> None:
    def never() -> str | None:
        raise AssertionError("not asked")

    choice = choose_backend("auto", SSH, lzc_reason=never)
    assert choice == BackendChoice("cli", "auto: the prefix `ssh gz` can only run the zfs command")


def test_configured_kinds_say_so() -> None:
    assert choose_backend("cli", SSH).reason == 'configured: kind = "cli" through `ssh gz`'
    assert choose_backend("fake", LOCAL).kind == "fake"
    assert choose_backend("lzc", LOCAL, lzc_reason=lzc_ok).reason.startswith('configured: kind = "lzc"')
    with pytest.raises(PyzfsMissing):
        choose_backend("lzc", LOCAL, lzc_reason=lzc_missing)
    with pytest.raises(UsageError):
        choose_backend("lzc", SSH)
    with pytest.raises(UsageError):
        choose_backend("zfs", LOCAL)  # type: ignore[arg-type]


def test_the_configured_verbs_log_the_choice(caplog: pytest.LogCaptureFixture) -> None:
    from zfstm.cli.config import backend_choice_for
    from zfstm.config.load import parse_config

    config = parse_config('[backend]\nkind = "cli"\n[[targets]]\ndataset = "tank/tm"\n', "c.toml", platform="linux")
    with caplog.at_level(logging.INFO, logger="zfstm"):
        backend, choice = backend_choice_for(config)
    assert backend.kind == "cli" == choice.kind
    assert 'ZFS backend: the zfs command (configured: kind = "cli")' in caplog.text
