"""Command prefixes: ssh-like prefixes get shell-quoted arguments, exec-style prefixes get them unchanged."""

from __future__ import annotations

import shlex

from hypothesis import given

from tests.unit.zfs.strategies import snapshot_names
from zfstm.zfs.names import SnapshotName
from zfstm.zfs.prefix import CommandPrefix


@given(snapshot_names())
def test_joined_prefix_survives_a_shell_split(name: SnapshotName) -> None:
    """What ssh joins with spaces and the remote shell splits again is exactly the original argument list."""
    argv = ["zfs", "destroy", name.full]
    wrapped = CommandPrefix.ssh("backup").wrap(argv)
    assert wrapped[:3] == ["ssh", "--", "backup"]
    assert shlex.split(" ".join(wrapped[3:])) == argv


@given(snapshot_names())
def test_exec_prefix_and_local_pass_arguments_unchanged(name: SnapshotName) -> None:
    """runuser-style prefixes and no prefix keep the argument list as it is."""
    argv = ["zfs", "destroy", name.full]
    assert CommandPrefix.local().wrap(argv) == argv
    assert CommandPrefix.exec_list("runuser", "-u", "zfsuser", "--").wrap(argv) == [
        "runuser", "-u", "zfsuser", "--", *argv,
    ]  # fmt: skip


def test_coerce_plain_list_is_ssh_like() -> None:
    """A plain word list such as ["ssh", "host"] is taken as a joining prefix; an empty one as local."""
    assert CommandPrefix.coerce(["ssh", "host"]).joins_arguments
    assert CommandPrefix.coerce(()).is_local
    prefix = CommandPrefix.exec_list("sudo")
    assert CommandPrefix.coerce(prefix) is prefix
