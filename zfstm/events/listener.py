"""The FCE socket: a UDP socket bound to a loopback address, read without blocking.

Only datagrams from a loopback source are returned (the bind already keeps the network out; the check also drops
packets a local firewall rule might forward). At most ``limit`` datagrams are read per wakeup, so a flood can
never hold up the daemon's regular tick.
"""

from __future__ import annotations

import ipaddress
import logging
import socket

log = logging.getLogger("zfstm.events")


class FceSocket:
    """Bound at construction (OSError if the port is taken); close() when done."""

    def __init__(self, host: str, port: int) -> None:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self._sock.bind((host, port))
        except OSError:
            self._sock.close()
            raise
        self.port: int = self._sock.getsockname()[1]
        self.address = f"[{host}]:{self.port}" if family == socket.AF_INET6 else f"{host}:{self.port}"
        self._sock.setblocking(False)
        self.dropped = 0

    def fileno(self) -> int:
        return self._sock.fileno()

    def drain(self, limit: int = 256) -> list[bytes]:
        """The datagrams waiting now (at most ``limit``), from loopback senders only."""
        out: list[bytes] = []
        for _ in range(limit):
            try:
                data, sender = self._sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # e.g. ICMP errors surfacing on the socket: not ours to act on
                log.debug("FCE socket %s: %s", self.address, exc)
                break
            if not _loopback(sender):
                self.dropped += 1
                log.warning("FCE packet from %s ignored: only loopback senders count", sender[0])
                continue
            out.append(data)
        return out

    def close(self) -> None:
        self._sock.close()


def _loopback(sender: object) -> bool:
    try:
        host = sender[0]  # type: ignore[index]
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except (ValueError, TypeError, IndexError):
        return False
