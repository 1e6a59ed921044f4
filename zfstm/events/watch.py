"""The inotify descriptor on the shares and their bundles (Linux; ctypes, no dependency). A thin shell: what the
records mean is zfstm.events.inotify's.

Other systems have no inotify: :func:`history_watch` returns None and says why; illumos' event ports
(``port_associate(3C)``, ``PORT_SOURCE_FILE``) would be the equivalent there (docs/events.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from zfstm.events.inotify import BUNDLE_MASK, SHARE_MASK, Watched, is_bundle

log = logging.getLogger("zfstm.events")

_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = getattr(os, "O_CLOEXEC", 0o2000000)
#: Bytes read per call (many records; the kernel never splits one).
READ_SIZE = 65536


class HistoryWatch:
    """An inotify descriptor watching each share (``targets``: target name, share path) and the bundles in it."""

    def __init__(self, libc: ctypes.CDLL, targets: Sequence[tuple[str, str]]) -> None:
        self._libc = libc
        fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            code = ctypes.get_errno()
            raise OSError(code, f"inotify_init1: {os.strerror(code)}")
        self.fd: int = fd
        self.watched: dict[int, Watched] = {}
        for target, path in targets:
            if self.add(Watched(target, path)):
                for bundle in _bundles(Path(path)):
                    self.add(Watched(target, f"{path.rstrip('/')}/{bundle}", bundle))

    def add(self, what: Watched) -> bool:
        """Watch ``what`` (a share, or a bundle in it); False, logged, when the kernel refuses (gone, no access,
        out of watches: fs.inotify.max_user_watches)."""
        mask = BUNDLE_MASK if what.bundle else SHARE_MASK
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(what.path), mask)
        if wd < 0:
            code = ctypes.get_errno()
            log.warning("%s: cannot watch %s for SnapshotHistory.plist (%s)", what.target, what.path, os.strerror(code))
            return False
        self.watched[wd] = what
        return True

    def forget(self, wds: Sequence[int]) -> None:
        """Watches the kernel removed (the directory went away)."""
        for wd in wds:
            self.watched.pop(wd, None)

    def fileno(self) -> int:
        return self.fd

    def drain(self, limit: int = 64) -> list[bytes]:
        """What the descriptor holds now (at most ``limit`` reads)."""
        out = []
        for _ in range(limit):
            try:
                data = os.read(self.fd, READ_SIZE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                if exc.errno != errno.EAGAIN:
                    log.debug("inotify read: %s", exc)
                break
            if not data:
                break
            out.append(data)
        return out

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _bundles(share: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in share.iterdir() if is_bundle(entry.name) and entry.is_dir())
    except OSError as exc:
        log.debug("cannot list %s: %s", share, exc)
        return []


def history_watch(targets: Sequence[tuple[str, str]]) -> HistoryWatch | None:
    """A watch on ``targets``' shares, or None where inotify is not available (logged once, at INFO)."""
    if not targets:
        return None
    if not sys.platform.startswith("linux"):
        log.info("file events on SnapshotHistory.plist: not on %s (inotify is Linux's)", sys.platform)
        return None
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        return HistoryWatch(libc, targets)
    except (OSError, AttributeError) as exc:
        log.warning(
            "file events on SnapshotHistory.plist unavailable (%s); session events and the quiet period still work", exc
        )
        return None
