"""Import pyzfs (``libzfs_core``) in a background thread, so its cost overlaps with work that waits anyway.

Why: importing libzfs_core parses pyzfs's C declarations with pycparser every time (cffi ABI mode); that is
~0.2 s on hardware and 3-4 s in the emulated testbed, paid by every ``zfstm`` process before its first ioctl.
A rollback spends seconds waiting on processes (``zfs`` listings, stopping the file server, Berkeley DB tools)
before its first libzfs_core call; started early, the import is finished by then. The module is asked for by
attribute access only (``lazy.lzc_clone``), which waits for the import and raises PyzfsMissing if it failed.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from typing import Any

from zfstm.errors import PyzfsMissing

MODULE = "libzfs_core"


def installed() -> bool:
    """True when a ``libzfs_core`` module can be found (without importing it)."""
    try:
        return importlib.util.find_spec(MODULE) is not None
    except (ImportError, ValueError):
        return False


class BackgroundImport:
    """A module being imported by a daemon thread; attribute access waits for it."""

    def __init__(self, name: str = MODULE) -> None:
        self._name = name
        self._module: Any = None
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._load, name=f"import {name}", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            self._module = importlib.import_module(self._name)
        except Exception as exc:  # re-raised in the caller's thread on first use (ImportError, OSError from cffi)
            self._error = exc

    def module(self) -> Any:
        """The imported module (waits for the import); PyzfsMissing when it failed."""
        self._thread.join()
        if self._error is not None:
            raise PyzfsMissing(
                f"pyzfs (import {self._name}) is unavailable ({self._error}); install the OS package python3-pyzfs "
                "(never the unrelated PyPI project 'pyzfs'), or use the CLI backend"
            ) from self._error
        return self._module

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):  # not the module's: e.g. copy probing an instance without its __init__
            raise AttributeError(attribute)
        return getattr(self.module(), attribute)
