"""Reading a small configuration file (zfstm.toml, afp.conf and its include) without trusting what the path is.

Why: ``include = /dev/zero`` or a FIFO would otherwise be read for ever or into memory until the process dies. A
configuration file is a regular file of at most a few hundred KiB; anything else is refused with a reason.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Far above any real zfstm.toml or afp.conf (netatalk's own reader stops at a few KiB per line).
MAX_CONFIG_BYTES = 4 * 1024 * 1024


class UnreadableFile(Exception):
    """The file is missing, not a regular file, too large or not text; ``str()`` says which, for one line."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.missing = missing


def read_small_text(path: Path | str, *, limit: int = MAX_CONFIG_BYTES, errors: str = "strict") -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes (symlinks followed: configs may be linked)."""
    try:
        # O_NONBLOCK: opening a FIFO must not hang; regular files ignore it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise UnreadableFile(
            f"cannot be read ({exc.strerror or exc})", missing=isinstance(exc, FileNotFoundError)
        ) from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise UnreadableFile(f"is not a regular file ({path})")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UnreadableFile(f"is larger than {limit} bytes, too large for a configuration file")
    try:
        return data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"is not UTF-8 text (byte {exc.start})") from None


def split_lines(text: str) -> list[str]:
    """Lines split on ``\\n`` only, a CRLF's ``\\r`` dropped: ``str.splitlines`` also splits on ``\\r``, U+0085,
    U+2028 and more, which shifts every line number a parser reports after such a character. No final empty line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]
