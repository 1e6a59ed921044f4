"""Replace a file in one rename, so a reader (netatalk, smbd, node_exporter) never sees half of it. Shell."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str | bytes, *, mode: int | None = None) -> None:
    """Write ``text`` (str as UTF-8, or bytes as they are) to a temporary file beside ``path``, fsync it, give it
    ``mode`` (default: the existing file's, else 0644), rename it over ``path`` and fsync the directory. The
    temporary name starts with a dot and ends in random letters, so globs such as node_exporter's ``*.prom`` never
    match it."""
    if mode is None:
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8") if isinstance(text, str) else text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
