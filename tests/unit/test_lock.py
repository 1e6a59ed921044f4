"""Tests for zfstm.lock: one run per target, a lock that the kernel drops when its holder dies."""

from __future__ import annotations

import multiprocessing
import os
import signal
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfstm.errors import BusyError, EnvironmentMissing
from zfstm.lock import (
    LINUX_RUN_DIR,
    SUNOS_RUN_DIR,
    acquire,
    lock_file_name,
    resolve_run_dir,
    target_lock,
)

# fork keeps the child cheap and lets it import nothing; the lock is taken in the child after the fork.
CTX = multiprocessing.get_context("fork")


def _hold(run_dir: str, target: str, ready: Event) -> None:
    """Child process: take the lock, say so, and sleep until killed."""
    acquire(target, Path(run_dir))
    ready.set()
    signal.pause()


def _start_holder(run_dir: Path, target: str) -> multiprocessing.process.BaseProcess:
    ready = CTX.Event()
    proc = CTX.Process(target=_hold, args=(str(run_dir), target, ready), daemon=True)
    proc.start()
    assert ready.wait(10), "holder did not take the lock"
    return proc


def test_second_taker_in_another_process_is_busy_and_named(tmp_path: Path) -> None:
    """While another process holds a target, acquire raises BusyError naming the target, the file and its pid."""
    holder = _start_holder(tmp_path, "tm")
    try:
        with pytest.raises(BusyError) as info:
            acquire("tm", tmp_path)
        message = str(info.value)
        assert "'tm'" in message
        assert f"pid {holder.pid}" in message
        assert str(tmp_path / lock_file_name("tm")) in message
        assert info.value.exit_code == 5
    finally:
        holder.kill()
        holder.join()


def test_lock_is_released_when_the_holder_is_killed(tmp_path: Path) -> None:
    """SIGKILL of the holder frees the lock at once: nothing goes stale, and the new holder records its own pid."""
    holder = _start_holder(tmp_path, "tm")
    assert holder.pid is not None
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    with acquire("tm", tmp_path) as held:
        assert held.path.read_text().strip() == str(os.getpid())


def test_other_targets_are_independent(tmp_path: Path) -> None:
    """Holding one target does not block another."""
    holder = _start_holder(tmp_path, "tm")
    try:
        with acquire("other", tmp_path):
            pass
    finally:
        holder.kill()
        holder.join()


def test_same_process_second_open_is_busy(tmp_path: Path) -> None:
    """flock belongs to the open file: even this process cannot take a target twice."""
    with target_lock("tm", tmp_path), pytest.raises(BusyError):
        acquire("tm", tmp_path)


def test_release_lets_the_next_taker_in_and_keeps_the_file(tmp_path: Path) -> None:
    """After release the lock can be taken again; the file is never unlinked (a new inode would split the lock)."""
    with target_lock("tm", tmp_path) as first:
        inode = first.path.stat().st_ino
    with target_lock("tm", tmp_path) as second:
        assert second.path.stat().st_ino == inode


def test_run_dir_is_created(tmp_path: Path) -> None:
    """A missing run directory is created (with parents)."""
    run_dir = tmp_path / "a" / "b"
    with target_lock("tm", run_dir) as held:
        assert held.path.parent == run_dir


def test_uncreatable_run_dir_says_what_to_do(tmp_path: Path) -> None:
    """A run directory that cannot be created gives EnvironmentMissing naming the directory and ZFSTM_RUN_DIR."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(EnvironmentMissing, match="ZFSTM_RUN_DIR"):
        acquire("tm", blocker / "run")


def test_symlinked_lock_file_is_refused(tmp_path: Path) -> None:
    """A lock file replaced by a symlink is not followed (O_NOFOLLOW): nobody can make zfstm write elsewhere."""
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / lock_file_name("tm")).symlink_to(victim)
    with pytest.raises(EnvironmentMissing):
        acquire("tm", tmp_path)
    assert victim.read_text() == "keep"


@given(st.text(min_size=1, max_size=60), st.text(min_size=1, max_size=60))
def test_lock_file_names_are_injective_and_plain(a: str, b: str) -> None:
    """Different targets get different lock files, each a single plain path component."""
    name_a, name_b = lock_file_name(a), lock_file_name(b)
    assert (name_a == name_b) == (a == b)
    assert "/" not in name_a
    assert "\0" not in name_a
    assert name_a not in (".", "..")


def test_empty_target_is_refused() -> None:
    """An empty target name is a programming error, not a lock."""
    with pytest.raises(ValueError, match="target"):
        lock_file_name("")


@pytest.mark.parametrize(
    ("explicit", "environ", "euid", "platform", "expected"),
    [
        (Path("/x"), {"ZFSTM_RUN_DIR": "/y"}, 0, "linux", Path("/x")),
        (None, {"ZFSTM_RUN_DIR": "/y", "XDG_RUNTIME_DIR": "/run/user/1000"}, 1000, "linux", Path("/y")),
        (None, {"XDG_RUNTIME_DIR": "/run/user/0"}, 0, "linux", LINUX_RUN_DIR),
        (None, {"XDG_RUNTIME_DIR": "/run/user/1000"}, 1000, "linux", Path("/run/user/1000/zfstm")),
        (None, {}, 1000, "linux", LINUX_RUN_DIR),
        (None, {}, 0, "sunos5", SUNOS_RUN_DIR),
        (None, {}, 901, "sunos5", SUNOS_RUN_DIR),
    ],
)
def test_run_dir_resolution(
    explicit: Path | None, environ: dict[str, str], euid: int, platform: str, expected: Path
) -> None:
    """explicit > $ZFSTM_RUN_DIR > shared system dir for root and services > $XDG_RUNTIME_DIR/zfstm for users."""
    assert resolve_run_dir(explicit, environ, euid=euid, platform=platform) == expected
