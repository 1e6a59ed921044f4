"""What an event is to zfstm, and the ``[events]`` settings.

An event is evidence about one target: a file-server session ended (the moment to look), or a session wrote to
the share. Events only make the daemon look sooner: the tick's detector still decides, and a session end counts
only when the backup's completion is newer than the last snapshot's and no session is open any more.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from enum import StrEnum

import attrs

from zfstm.timemachine.timefmt import aware

#: netatalk's own default FCE port (``FCE_DEFAULT_PORT``).
DEFAULT_FCE_PORT = 12250


#: The FCE events zfstm asks afpd for: file events tie a session (pid) to the share it writes, logout ends it.
FCE_EVENTS = "fmod,fdel,ddel,fcre,dcre,fmov,dmov,login,logout"


def fce_global_lines(port: int = DEFAULT_FCE_PORT) -> tuple[str, ...]:
    """The afp.conf ``[Global]`` lines that make afpd (3.1.4 and later) send zfstm its session ends."""
    return (f"fce listener = 127.0.0.1:{port}", "fce version = 2", f"fce events = {FCE_EVENTS}")


class EventSource(StrEnum):
    """Where the evidence came from (shown by `zfstm status`)."""

    FCE = "netatalk-fce"
    SAMBA = "samba"
    #: File events on SnapshotHistory.plist (Linux inotify), and the session end the daemon then saw itself.
    INOTIFY = "inotify"


class EventKind(StrEnum):
    """``logout`` is a session end; ``write`` a file change inside the share; ``history`` a new
    SnapshotHistory.plist (the Mac recorded a backup: its session end is then watched for)."""

    LOGOUT = "logout"
    WRITE = "write"
    HISTORY = "history"


@attrs.frozen
class SessionEvent:
    """One piece of evidence about ``target``, received at ``at``; ``detail`` says who (user, pid, path)."""

    target: str
    source: EventSource
    kind: EventKind
    at: datetime = attrs.field(validator=aware)
    detail: str = ""

    @property
    def session_end(self) -> bool:
        return self.kind is EventKind.LOGOUT


def loopback_host(host: str) -> str:
    """``host`` if it is a loopback address; ValueError otherwise (events from the network are never trusted)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address (use 127.0.0.1 or ::1)") from None
    if not address.is_loopback:
        raise ValueError(f"{host} is not a loopback address: zfstm listens for events on 127.0.0.1 or ::1 only")
    return str(address)


def parse_listener(text: str) -> tuple[str, int]:
    """``127.0.0.1:12250`` / ``[::1]:12250`` / ``127.0.0.1`` -> (host, port); loopback only."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":") if rest else ""
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    port = DEFAULT_FCE_PORT
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"port {port_text!r} is not a number from 1 to 65535")
        port = int(port_text)
    return loopback_host(host), port


@attrs.frozen
class EventsConfig:
    """The ``[events]`` table. Nothing is listened to unless ``fce_listener`` is set: the loopback address where
    netatalk's FCE and `zfstm notify` (Samba's ``root postexec``) reach the daemon.

    ``settle`` gathers a burst of events into one look; ``min_interval`` is the shortest time between two
    event-triggered snapshots of one target; ``retry_for`` is how long after a session end the daemon keeps
    looking while the server's session process lingers; ``silence_warning`` is when `zfstm check` warns that no
    event arrived although events are configured.
    """

    fce_listener: tuple[str, int] | None = None
    settle: timedelta = timedelta(0)
    min_interval: timedelta = timedelta(minutes=5)
    retry_for: timedelta = timedelta(minutes=2)
    silence_warning: timedelta = timedelta(days=14)

    def __attrs_post_init__(self) -> None:
        for name in ("settle", "min_interval", "retry_for", "silence_warning"):
            if getattr(self, name) < timedelta(0):
                raise ValueError(f"events setting {name} must not be negative")

    @property
    def enabled(self) -> bool:
        return self.fce_listener is not None
