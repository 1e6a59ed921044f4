"""zfstm's one process runner: every command that runs to completion (zfs, service control, the Berkeley DB tools,
``dbd``, ``afpd -V``, ``zonename``) goes through :func:`run_command`.

Always an argument list (never a shell), no stdin unless given, output captured as text, a timeout, and the C
locale (``LC_ALL=C``): zfs's and the tools' messages are matched in English. Streaming pipelines that cannot wait
for completion (the dump | load copies in :mod:`zfstm.netatalk.cnid_counter`) start their processes themselves,
with :func:`command_env`.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence

from zfstm.command import Completed
from zfstm.errors import EnvironmentMissing, FileServerError, ZfstmError


def command_env() -> dict[str, str]:
    """This process's environment in the C locale."""
    return {**os.environ, "LC_ALL": "C"}


def run_command(
    argv: Sequence[str],
    *,
    timeout: float | None,
    stdin: str | None = None,
    timed_out: Callable[[str], ZfstmError] = FileServerError,
) -> Completed:
    """Run ``argv`` to completion and say what it said; raise only when it could not run at all.

    A missing or unrunnable program is :class:`EnvironmentMissing`; a command still running after ``timeout``
    seconds (None: no limit) is killed and reported as ``timed_out(message)`` (a file-server error unless the caller
    says)."""
    args = tuple(argv)
    try:
        done = subprocess.run(
            args,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL if stdin is None else None,
            env=command_env(),
        )
    except FileNotFoundError as exc:
        raise EnvironmentMissing(f"{args[0]} not found: install it or fix PATH (needed for: {' '.join(args)})") from exc
    except OSError as exc:  # not executable, too many processes...
        raise EnvironmentMissing(f"cannot run {args[0]} ({exc.strerror}; needed for: {' '.join(args)})") from exc
    except subprocess.TimeoutExpired as exc:
        raise timed_out(f"`{' '.join(args)}` did not finish within {timeout:g} s") from exc
    return Completed(argv=args, returncode=done.returncode, stdout=done.stdout, stderr=done.stderr)
