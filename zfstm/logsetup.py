"""Logging for a command run by hand, by SMF or by systemd: one plain line per event on stderr, optionally syslog.

Why: SMF appends a service's stderr to ``/var/svc/log/<fmri>.log`` and journald stores each stderr line as one
entry; both keep plain text best. So: no colour, no multi-line records (a traceback's lines are joined with `` | ``),
a level word on every line, and a UTC timestamp unless journald is listening (it stamps entries itself). Under
journald (``$JOURNAL_STREAM`` set) each line also starts with the ``<N>`` priority prefix that sd-daemon(3)
defines, so ``journalctl -p warning`` works. ``--syslog`` (or ``$ZFSTM_SYSLOG``) adds a syslog handler: a Unix
socket path (default the first of /dev/log, /var/run/log, /var/run/syslog that is a socket) or ``udp:HOST:PORT``.
On illumos /dev/log is a STREAMS device, not a socket; there the SMF log already holds everything, or enable
syslogd's network input and use ``udp:127.0.0.1:514`` (docs/smartos.md).
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from zfstm.errors import UsageError

#: syslog(3) priorities of Python's levels (sd-daemon(3) prefixes use the same numbers).
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}
SOCKET_CANDIDATES = ("/dev/log", "/var/run/log", "/var/run/syslog")
ENV_SYSLOG = "ZFSTM_SYSLOG"


class OneLineFormatter(logging.Formatter):
    """``2026-11-28T02:15:00Z zfstm: WARNING: message`` (or ``<4>zfstm: WARNING: message`` under journald)."""

    def __init__(self, *, journald: bool, ident: str = "zfstm") -> None:
        super().__init__()
        self.journald = journald
        self.ident = ident

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text += " | " + self.formatException(record.exc_info)
        text = " | ".join(part for part in text.splitlines() if part.strip())
        line = f"{self.ident}: {record.levelname}: {text}"
        if self.journald:
            return f"<{priority(record.levelno)}>{line}"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))
        return f"{stamp} {line}"


class OnceSysLogHandler(logging.handlers.SysLogHandler):
    """A syslog that cannot be reached is reported once on stderr (one line, no traceback), then left alone."""

    reported = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        if not self.reported:
            self.reported = True
            error = sys.exc_info()[1]
            sys.stderr.write(f"zfstm: WARNING: syslog unreachable ({error}); logging on stderr only\n")


def priority(level: int) -> int:
    """The syslog priority of a Python level (levels in between take the next more severe one)."""
    for known in sorted(_PRIORITY):
        if level <= known:
            return _PRIORITY[known]
    return _PRIORITY[logging.CRITICAL]


def under_journald(environ: Mapping[str, str]) -> bool:
    """systemd sets ``$JOURNAL_STREAM`` when stderr is connected to the journal."""
    return bool(environ.get("JOURNAL_STREAM"))


def syslog_address(spec: str) -> str | tuple[str, int]:
    """A socket path, or ``udp:HOST:PORT``; ``auto`` finds the local syslog socket."""
    if spec.startswith("udp:"):
        host, _, port = spec[4:].rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"syslog address {spec!r}: write udp:HOST:PORT, e.g. udp:127.0.0.1:514")
        return host, int(port)
    if spec != "auto":
        return spec
    for path in SOCKET_CANDIDATES:
        try:
            if Path(path).is_socket():
                return path
        except OSError:
            continue
    raise UsageError(
        f"no syslog socket among {', '.join(SOCKET_CANDIDATES)} (on illumos /dev/log is a STREAMS device): "
        "give --syslog udp:127.0.0.1:514 with syslogd's network input enabled, or rely on the SMF log"
    )


def add_logging_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--syslog", nargs="?", const="auto", default=None, metavar="ADDRESS",
        help="also log to syslog (socket path or udp:HOST:PORT; default: the local socket; or $ZFSTM_SYSLOG)",
    )  # fmt: skip


def setup_logging(
    verbose: int = 0,
    syslog: str | None = None,
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> logging.Logger:
    """Configure the root logger (zfstm's modules log below ``zfstm``): WARNING, INFO with -v, DEBUG with -vv.

    The root logger, so that a verb may still raise the level (``zfstm daemon`` logs at INFO). Returns it.
    """
    env = os.environ if environ is None else environ
    logger = logging.getLogger()
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    logger.setLevel(logging.WARNING - 10 * min(max(verbose, 0), 2))
    err = logging.StreamHandler(stream or sys.stderr)
    err.setFormatter(OneLineFormatter(journald=under_journald(env)))
    logger.addHandler(err)
    spec = syslog or env.get(ENV_SYSLOG)
    if spec:
        address = syslog_address(spec) if spec.startswith("udp:") else None  # a malformed address is a usage error
        try:
            address = address or syslog_address(spec)
            handler = OnceSysLogHandler(address=address, facility=logging.handlers.SysLogHandler.LOG_DAEMON)
        except (UsageError, OSError) as exc:  # logging never stops snapshots: say so once and go on without it
            logger.warning("syslog not used: %s", exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
            return logger
        handler.setFormatter(logging.Formatter("zfstm[%(process)d]: %(levelname)s: %(message)s"))
        logger.addHandler(handler)
    return logger
