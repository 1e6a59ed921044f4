"""Is a pid alive, and what program is it? (shell: /proc on Linux, ps elsewhere)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from zfstm.command import Runner
from zfstm.runner import run_command
from zfstm.service.holders import parse_ps, ps_argv


def pid_alive(pid: int, proc_root: Path = Path("/proc")) -> bool:
    """True while ``pid`` exists and is not a zombie; reaps it first if it is our own exited child."""
    if pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        reaped, _status = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    return not _is_zombie(pid, proc_root)


def _is_zombie(pid: int, proc_root: Path) -> bool:
    try:
        stat = (proc_root / str(pid) / "stat").read_text()
    except OSError:
        return False
    # "pid (comm) S ...": comm may contain spaces and parentheses, so split after the last ')'.
    fields = stat.rpartition(")")[2].split()
    return bool(fields) and fields[0] == "Z"


def pid_program(pid: int, runner: Runner = run_command, proc_root: Path = Path("/proc")) -> str | None:
    """The program name of ``pid`` (``/proc/PID/comm`` on Linux, ``ps -o comm=`` elsewhere), or None if gone."""
    if sys.platform.startswith("linux"):
        try:
            return (proc_root / str(pid) / "comm").read_text().strip()
        except OSError:
            return None
    return parse_ps(runner(ps_argv([pid]), timeout=10).stdout).get(pid)


def read_pidfile(path: Path) -> int | None:
    """The pid a pidfile names (first token of its first line), or None when absent, empty or not a number."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    token = text.split(maxsplit=1)[0] if text.split() else ""
    return int(token) if token.isdigit() and int(token) > 0 else None
