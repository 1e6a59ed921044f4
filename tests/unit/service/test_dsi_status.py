"""Tests for the native DSI GetStatus request: the AFP server's liveness check without asip-status."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfstm.service.asip import judge_server_status
from zfstm.service.dsi_status import (
    DSI_HEADER,
    DsiStatusError,
    ServerStatus,
    get_server_status,
    parse_status_reply,
    status_request,
)
from zfstm.service.verified import asip_probe

RID = 7
STATUS = ServerStatus(
    machine_type="Netatalk4.2.3",
    server_name="zfstm-testbed",
    afp_versions=("AFP3.4", "AFP3.3"),
    uams=("DHX2", "No User Authent"),
    flags=0x8F79,
)


def _p(text: str) -> bytes:
    raw = text.encode("mac_roman")
    return bytes([len(raw)]) + raw


def _payload(status: ServerStatus = STATUS) -> bytes:
    """An FPGetSrvrInfo reply laid out as netatalk does: offsets, flags, server name, then the rest."""
    name = _p(status.server_name)
    machine_at = 10 + len(name)
    machine = _p(status.machine_type)
    versions_at = machine_at + len(machine)
    versions = bytes([len(status.afp_versions)]) + b"".join(_p(v) for v in status.afp_versions)
    uams_at = versions_at + len(versions)
    uams = bytes([len(status.uams)]) + b"".join(_p(u) for u in status.uams)
    offsets = struct.pack(">HHHHH", machine_at, versions_at, uams_at, 0, status.flags)
    return offsets + name + machine + versions + uams


def _header(payload: bytes, *, flags: int = 1, command: int = 3, rid: int = RID, code: int = 0) -> bytes:
    return DSI_HEADER.pack(flags, command, rid, code, len(payload), 0)


def test_request_is_a_bare_get_status_header() -> None:
    """A request: flags 0, command 3, the id, and zeros (no payload)."""
    assert status_request(0x1234) == bytes([0, 3, 0x12, 0x34]) + bytes(12)
    with pytest.raises(ValueError, match="16-bit"):
        status_request(0x10000)


def test_reply_round_trip() -> None:
    """A reply built by hand reads back as the status it was built from."""
    payload = _payload()
    assert parse_status_reply(_header(payload), payload, RID) == STATUS


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (_header(_payload(), flags=0), "not a reply"),
        (_header(_payload(), command=2), "not GetStatus"),
        (_header(_payload(), rid=RID + 1), "for request 8, not 7"),
        (_header(_payload(), code=-5019), "error code -5019"),
        (_header(_payload())[:15], "15 bytes, not 16"),
        (DSI_HEADER.pack(1, 3, RID, 0, 1 << 20, 0), "more than 65536"),
    ],
)
def test_wrong_header_is_refused(header: bytes, message: str) -> None:
    """Anything but a successful reply to our own GetStatus request is refused, saying why."""
    with pytest.raises(DsiStatusError, match=message):
        parse_status_reply(header, _payload(), RID)


def test_truncated_payload_is_refused() -> None:
    """A payload shorter than the header announces, or too short for the fixed part, is refused."""
    payload = _payload()
    with pytest.raises(DsiStatusError, match=f"announces {len(payload)} bytes but the reply has {len(payload) - 3}"):
        parse_status_reply(_header(payload), payload[:-3], RID)
    with pytest.raises(DsiStatusError, match="too short"):
        parse_status_reply(_header(payload[:10]), payload[:10], RID)


def test_offset_outside_payload_is_refused() -> None:
    """An offset past the end, or a string running past it, is refused rather than read as garbage."""
    payload = _payload()
    outside = struct.pack(">H", len(payload) + 5) + payload[2:]
    with pytest.raises(DsiStatusError, match=r"machine type offset \d+ is outside"):
        parse_status_reply(_header(outside), outside, RID)
    cut = payload[:-1]  # the last UAM string now runs one byte past the end
    with pytest.raises(DsiStatusError, match=r"UAM at offset \d+ runs past the end"):
        parse_status_reply(_header(cut), cut, RID)


@given(st.binary(max_size=200))
def test_any_payload_parses_or_is_refused(payload: bytes) -> None:
    """Whatever the bytes, the parser answers a status or a DsiStatusError, never IndexError or the like."""
    with contextlib.suppress(DsiStatusError):
        parse_status_reply(_header(payload), payload, RID)


def test_judge_server_status() -> None:
    """OK only with the expected machine type; otherwise the detail names the address and what answered."""
    assert judge_server_status(STATUS, "").detail == "machine type Netatalk4.2.3"
    mac = judge_server_status(ServerStatus("Macintosh", "mini", ()), "", address="mini:548")
    assert not mac.ok
    assert mac.detail == "AFP server at mini:548 (mini) answers as machine type 'Macintosh', not 'Netatalk'"
    down = judge_server_status(None, "Connection refused")
    assert not down.ok and down.detail == "AFP server at localhost:548 does not answer: Connection refused"


Reply = Callable[[bytes], bytes]


@pytest.fixture
def afp_server() -> Iterator[Callable[[Reply], int]]:
    """Start a one-connection server on 127.0.0.1 that reads the 16-byte request and sends ``reply(request)``."""
    threads: list[threading.Thread] = []
    servers: list[socket.socket] = []

    def start(reply: Reply) -> int:
        server = socket.create_server(("127.0.0.1", 0))
        server.settimeout(5)
        servers.append(server)

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                conn.settimeout(5)
                request = b""
                while len(request) < DSI_HEADER.size:
                    chunk = conn.recv(DSI_HEADER.size - len(request))
                    if not chunk:
                        return
                    request += chunk
                conn.sendall(reply(request))

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return int(server.getsockname()[1])

    yield start
    for thread in threads:
        thread.join(timeout=5)
    for server in servers:
        server.close()


def _netatalk(request: bytes) -> bytes:
    flags, command, rid, _, length, _ = DSI_HEADER.unpack(request)
    assert (flags, command, length) == (0, 3, 0)
    payload = _payload()
    return _header(payload, rid=rid) + payload


def test_get_server_status_over_a_real_socket(afp_server: Callable[[Reply], int]) -> None:
    """The shell sends the request and reads the whole reply from a real TCP server."""
    port = afp_server(_netatalk)
    assert get_server_status("127.0.0.1", port).machine_type == "Netatalk4.2.3"
    assert asip_probe(host="127.0.0.1", port=afp_server(_netatalk))().ok


def test_get_server_status_refuses_a_cut_reply(afp_server: Callable[[Reply], int]) -> None:
    """A server that hangs up mid-reply gives DsiStatusError, saying how far it got."""
    port = afp_server(lambda request: _netatalk(request)[:20])
    with pytest.raises(DsiStatusError, match="closed the connection after 4 of"):
        get_server_status("127.0.0.1", port)


def test_probe_of_a_closed_port_is_not_ok() -> None:
    """Nothing listening: the probe says the server does not answer, naming the address."""
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = int(placeholder.getsockname()[1])
    answer = asip_probe(host="127.0.0.1", port=port)()
    assert not answer.ok
    assert f"AFP server at 127.0.0.1:{port} does not answer" in answer.detail
