"""The real :class:`~zfstm.command.Runner`: the one place the service package starts commands."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from zfstm.command import Completed
from zfstm.errors import EnvironmentMissing, FileServerError


def run_command(argv: Sequence[str], *, timeout: float) -> Completed:
    """No shell, no stdin, output captured as text, a timeout that names the command."""
    args = tuple(argv)
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError as exc:
        raise EnvironmentMissing(f"{args[0]} not found: install it or fix PATH (needed for: {' '.join(args)})") from exc
    except subprocess.TimeoutExpired as exc:
        raise FileServerError(f"`{' '.join(args)}` did not finish within {timeout:g} s") from exc
    return Completed(argv=args, returncode=done.returncode, stdout=done.stdout, stderr=done.stderr)
