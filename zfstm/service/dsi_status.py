"""Ask an AFP server for its status ourselves: one DSI GetStatus request (FPGetSrvrInfo), what asip-status sends.

Why not asip-status: it is a Perl script, ~1.4 s per call under the emulated testbed, and every poll while a file
server starts paid it; the native request takes milliseconds and needs no netatalk-tools.

Pure: :func:`status_request` and :func:`parse_status_reply`. Shell: :func:`get_server_status` (one TCP exchange).
References: Apple's "AFP Programming Guide" (FPGetSrvrInfo) and netatalk's ``include/atalk/dsi.h``.
"""

from __future__ import annotations

import socket
import struct

import attrs

DSI_HEADER = struct.Struct(">BBHiII")  # flags, command, request id, data offset / error code, total length, reserved
DSI_REQUEST = 0
DSI_REPLY = 1
DSI_GET_STATUS = 3
MAX_STATUS_BYTES = 64 * 1024  # a real reply is a few hundred bytes; more means it is not an AFP server speaking
_OFFSETS = struct.Struct(">HHHHH")  # MachineType, AFPVersionCount, UAMCount, VolumeIcon offsets; flags
_SERVER_NAME_AT = _OFFSETS.size


class DsiStatusError(ValueError):
    """The reply is not a well-formed DSI GetStatus answer."""


@attrs.frozen
class ServerStatus:
    """What FPGetSrvrInfo says about the server (the parts a liveness check or a message needs)."""

    machine_type: str
    server_name: str
    afp_versions: tuple[str, ...]
    uams: tuple[str, ...] = ()
    flags: int = 0


def status_request(request_id: int) -> bytes:
    """The 16-byte DSIGetStatus request header (it carries no payload)."""
    if not 0 <= request_id <= 0xFFFF:
        raise ValueError(f"DSI request id {request_id} is not a 16-bit value")
    return DSI_HEADER.pack(DSI_REQUEST, DSI_GET_STATUS, request_id, 0, 0, 0)


def reply_length(header: bytes, request_id: int) -> int:
    """The payload length a reply header announces, once the header is checked to answer our request."""
    if len(header) != DSI_HEADER.size:
        raise DsiStatusError(f"DSI header is {len(header)} bytes, not {DSI_HEADER.size}")
    flags, command, reply_id, code, length, _ = DSI_HEADER.unpack(header)
    if flags != DSI_REPLY:
        raise DsiStatusError(f"DSI flags {flags} is not a reply ({DSI_REPLY})")
    if command != DSI_GET_STATUS:
        raise DsiStatusError(f"DSI command {command} is not GetStatus ({DSI_GET_STATUS})")
    if reply_id != request_id:
        raise DsiStatusError(f"DSI reply is for request {reply_id}, not {request_id}")
    if code != 0:
        raise DsiStatusError(f"DSI GetStatus failed with error code {code}")
    if length > MAX_STATUS_BYTES:
        raise DsiStatusError(f"DSI reply announces {length} bytes, more than {MAX_STATUS_BYTES}")
    return int(length)


def _pstring(payload: bytes, offset: int, what: str) -> tuple[str, int]:
    """The Pascal string at ``offset`` and the offset just after it."""
    if not 0 < offset < len(payload):
        raise DsiStatusError(f"{what} offset {offset} is outside the {len(payload)}-byte reply")
    end = offset + 1 + payload[offset]
    if end > len(payload):
        raise DsiStatusError(f"{what} at offset {offset} runs past the end of the {len(payload)}-byte reply")
    return payload[offset + 1 : end].decode("mac_roman"), end


def _pstrings(payload: bytes, offset: int, what: str) -> tuple[str, ...]:
    """A count byte at ``offset`` followed by that many Pascal strings."""
    if not 0 < offset < len(payload):
        raise DsiStatusError(f"{what} count offset {offset} is outside the {len(payload)}-byte reply")
    items: list[str] = []
    at = offset + 1
    for _ in range(payload[offset]):
        item, at = _pstring(payload, at, what)
        items.append(item)
    return tuple(items)


def parse_status_reply(header: bytes, payload: bytes, request_id: int) -> ServerStatus:
    """Read an FPGetSrvrInfo reply; DsiStatusError says what is wrong with anything else."""
    length = reply_length(header, request_id)
    if length != len(payload):
        raise DsiStatusError(f"DSI header announces {length} bytes but the reply has {len(payload)}")
    if len(payload) <= _SERVER_NAME_AT:
        raise DsiStatusError(f"FPGetSrvrInfo reply of {len(payload)} bytes is too short for its fixed part")
    machine_at, versions_at, uams_at, _icon_at, flags = _OFFSETS.unpack_from(payload)
    return ServerStatus(
        machine_type=_pstring(payload, machine_at, "machine type")[0],
        server_name=_pstring(payload, _SERVER_NAME_AT, "server name")[0],
        afp_versions=_pstrings(payload, versions_at, "AFP version"),
        uams=_pstrings(payload, uams_at, "UAM"),
        flags=flags,
    )


def _recv_exact(sock: socket.socket, size: int, what: str) -> bytes:
    chunks: list[bytes] = []
    got = 0
    while got < size:
        chunk = sock.recv(min(size - got, 65536))
        if not chunk:
            raise DsiStatusError(f"the server closed the connection after {got} of {size} {what} bytes")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def get_server_status(host: str = "localhost", port: int = 548, timeout: float = 5.0) -> ServerStatus:
    """One GetStatus exchange; OSError when nothing answers (refused, timeout, reset), DsiStatusError for nonsense."""
    request_id = 1  # a fresh connection per request: any id will do
    with socket.create_connection((host, port), timeout) as sock:
        sock.sendall(status_request(request_id))
        header = _recv_exact(sock, DSI_HEADER.size, "header")
        payload = _recv_exact(sock, reply_length(header, request_id), "reply")
    return parse_status_reply(header, payload, request_id)
