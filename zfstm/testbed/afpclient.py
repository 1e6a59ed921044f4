"""A small AFP-over-DSI client, only for driving a real netatalk in the testbed (the Mac of the demo and the tests).

Why: netatalk's own test clients could not build a Time Machine-like tree (see docs/netatalk.md), and what must be
real here is the server, its CNID database and its EAs -- the client only has to speak the protocol: DSI framing
over TCP, cleartext login, volumes, directories, files, forks, enumeration and FPResolveID (what a Mac does with a
remembered file ID after a rollback).

References: Apple's "AFP Programming Guide" (command layouts and bitmaps) and netatalk's ``include/atalk/dsi.h``.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from types import TracebackType

import attrs

# DSI commands
DSI_CLOSE_SESSION = 1
DSI_COMMAND = 2
DSI_OPEN_SESSION = 4
DSI_TICKLE = 5
DSI_WRITE = 6
DSI_ATTENTION = 8
_DSI_HEADER = struct.Struct(">BBHiII")

# AFP commands
FP_CLOSE_VOL = 2
FP_CLOSE_FORK = 4
FP_CREATE_DIR = 6
FP_CREATE_FILE = 7
FP_DELETE = 8
FP_GET_SRVR_PARMS = 16
FP_LOGIN = 18
FP_LOGOUT = 20
FP_OPEN_VOL = 24
FP_OPEN_FORK = 26
FP_GET_FILE_DIR_PARMS = 34
FP_RESOLVE_ID = 41
FP_WRITE_EXT = 61
FP_ENUMERATE_EXT2 = 68

# File and directory bitmap bits (the same positions for both where used here)
BIT_PARENT_DID = 0x0002
BIT_LONG_NAME = 0x0040
BIT_NODE_ID = 0x0100
VOL_BIT_ID = 0x0020
PATH_UTF8 = 3

ERR_OBJECT_NOT_FOUND = -5018
ERR_OBJECT_EXISTS = -5017
ERR_ID_NOT_FOUND = -5034


class AfpError(Exception):
    """The server answered a command with an AFP error code."""

    def __init__(self, command: int, code: int) -> None:
        super().__init__(f"AFP command {command} failed with result {code}")
        self.command = command
        self.code = code


@attrs.frozen
class Entry:
    """A file or directory as the server describes it; ``node_id`` is its CNID."""

    name: str
    node_id: int
    parent_id: int
    is_dir: bool


def _utf8_path(name: str) -> bytes:
    raw = name.encode("utf-8")
    return struct.pack(">BIH", PATH_UTF8, 0, len(raw)) + raw


def _pstring(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 255:
        raise ValueError(f"Pascal string too long: {text!r}")
    return bytes([len(raw)]) + raw


def _parse_params(params: bytes, bitmap: int) -> tuple[int, int, str]:
    """(parent DID, node ID, long name) from a parameter block holding exactly these three bits."""
    if bitmap != BIT_PARENT_DID | BIT_LONG_NAME | BIT_NODE_ID:
        raise ValueError(f"unexpected bitmap {bitmap:#06x}")
    parent, name_offset, node = struct.unpack_from(">IHI", params, 0)
    length = params[name_offset]
    name = params[name_offset + 1 : name_offset + 1 + length].decode("mac_roman")
    return parent, node, name


class AfpClient:
    """One DSI session: connect, log in with the cleartext UAM, then issue commands one at a time."""

    def __init__(self, host: str = "127.0.0.1", port: int = 548, timeout: float = 60.0) -> None:
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._request_id = 0
        self._dsi(DSI_OPEN_SESSION, struct.pack(">BBI", 1, 4, 1024))

    def __enter__(self) -> AfpClient:
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _exc: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    # --- DSI framing -------------------------------------------------------------------------------------------

    def _recv_exact(self, n: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < n:
            chunk = self._sock.recv(n - len(chunks))
            if not chunk:
                raise ConnectionError("server closed the DSI session")
            chunks.extend(chunk)
        return bytes(chunks)

    def _dsi(self, command: int, payload: bytes, *, write_offset: int = 0) -> tuple[int, bytes]:
        self._request_id = (self._request_id + 1) & 0xFFFF
        rid = self._request_id
        self._sock.sendall(_DSI_HEADER.pack(0, command, rid, write_offset, len(payload), 0) + payload)
        while True:
            flags, cmd, reply_id, code, length, _ = _DSI_HEADER.unpack(self._recv_exact(_DSI_HEADER.size))
            body = self._recv_exact(length) if length else b""
            if flags == 0:  # a request from the server: tickle or attention; nothing to answer for a short session
                continue
            if reply_id == rid and cmd == command:
                return code, body

    def _afp(self, payload: bytes, *, data: bytes | None = None) -> bytes:
        if data is None:
            code, body = self._dsi(DSI_COMMAND, payload)
        else:
            code, body = self._dsi(DSI_WRITE, payload + data, write_offset=len(payload))
        if code != 0:
            raise AfpError(payload[0], code)
        return body

    # --- session ----------------------------------------------------------------------------------------------

    def login(self, user: str, password: str, version: str = "AFP3.4") -> None:
        """FPLogin with the "Cleartxt Passwrd" UAM (netatalk's uams_clrtxt.so)."""
        head = bytes([FP_LOGIN]) + _pstring(version) + _pstring("Cleartxt Passwrd") + _pstring(user)
        if len(head) % 2:
            head += b"\0"
        self._afp(head + password.encode()[:8].ljust(8, b"\0"))

    def volume_names(self) -> list[str]:
        """FPGetSrvrParms: the names of the volumes this user may open."""
        body = self._afp(bytes([FP_GET_SRVR_PARMS, 0]))
        count = body[4]
        names, pos = [], 5
        for _ in range(count):
            length = body[pos + 1]
            names.append(body[pos + 2 : pos + 2 + length].decode("utf-8", "replace"))
            pos += 2 + length
        return names

    def open_volume(self, name: str) -> int:
        body = self._afp(struct.pack(">BBH", FP_OPEN_VOL, 0, VOL_BIT_ID) + _pstring(name))
        bitmap, vol_id = struct.unpack_from(">HH", body)
        if bitmap != VOL_BIT_ID:
            raise ValueError(f"FPOpenVol answered bitmap {bitmap:#x}")
        return int(vol_id)

    def close_volume(self, vol: int) -> None:
        self._afp(struct.pack(">BBH", FP_CLOSE_VOL, 0, vol))

    def logout(self) -> None:
        self._afp(bytes([FP_LOGOUT, 0]))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.sendall(_DSI_HEADER.pack(0, DSI_CLOSE_SESSION, (self._request_id + 1) & 0xFFFF, 0, 0, 0))
        self._sock.close()

    # --- files and directories ---------------------------------------------------------------------------------

    def create_dir(self, vol: int, did: int, name: str) -> int:
        """FPCreateDir; returns the new directory's ID (its CNID)."""
        body = self._afp(struct.pack(">BBHI", FP_CREATE_DIR, 0, vol, did) + _utf8_path(name))
        return int(struct.unpack(">I", body[:4])[0])

    def create_file(self, vol: int, did: int, name: str) -> None:
        self._afp(struct.pack(">BBHI", FP_CREATE_FILE, 0x80, vol, did) + _utf8_path(name))

    def open_fork(self, vol: int, did: int, name: str, access: int = 3) -> tuple[int, int]:
        """FPOpenFork of the data fork; returns (fork reference, the file's node ID = CNID)."""
        req = struct.pack(">BBHIHH", FP_OPEN_FORK, 0, vol, did, BIT_NODE_ID, access) + _utf8_path(name)
        bitmap, ref, node = struct.unpack_from(">HHI", self._afp(req))
        if bitmap != BIT_NODE_ID:
            raise ValueError(f"FPOpenFork answered bitmap {bitmap:#x}")
        return int(ref), int(node)

    def write(self, ref: int, offset: int, data: bytes) -> int:
        """FPWriteExt through DSIWrite; returns the offset after the last byte written."""
        body = self._afp(struct.pack(">BBHqq", FP_WRITE_EXT, 0, ref, offset, len(data)), data=data)
        return int(struct.unpack(">q", body[:8])[0])

    def close_fork(self, ref: int) -> None:
        self._afp(struct.pack(">BBH", FP_CLOSE_FORK, 0, ref))

    def write_file(self, vol: int, did: int, name: str, data: bytes) -> int:
        """Create a file, write ``data`` into it and close it; returns its CNID."""
        self.create_file(vol, did, name)
        ref, node = self.open_fork(vol, did, name)
        try:
            if data:
                self.write(ref, 0, data)
        finally:
            self.close_fork(ref)
        return node

    def delete(self, vol: int, did: int, name: str) -> None:
        self._afp(struct.pack(">BBHI", FP_DELETE, 0, vol, did) + _utf8_path(name))

    def stat(self, vol: int, did: int, name: str) -> Entry:
        """FPGetFileDirParms: parent, CNID and kind of one object."""
        bits = BIT_PARENT_DID | BIT_LONG_NAME | BIT_NODE_ID
        body = self._afp(struct.pack(">BBHIHH", FP_GET_FILE_DIR_PARMS, 0, vol, did, bits, bits) + _utf8_path(name))
        fbits, dbits, flag = struct.unpack_from(">HHB", body)
        is_dir = bool(flag & 0x80)
        parent, node, long_name = _parse_params(body[6:], dbits if is_dir else fbits)
        return Entry(name=long_name, node_id=node, parent_id=parent, is_dir=is_dir)

    def enumerate(self, vol: int, did: int, batch: int = 200) -> list[Entry]:
        """FPEnumerateExt2 over the whole directory."""
        bits = BIT_PARENT_DID | BIT_LONG_NAME | BIT_NODE_ID
        out: list[Entry] = []
        start = 1
        while True:
            req = struct.pack(">BBHIHHHII", FP_ENUMERATE_EXT2, 0, vol, did, bits, bits, batch, start, 65536)
            try:
                body = self._afp(req + _utf8_path(""))
            except AfpError as exc:
                if exc.code == ERR_OBJECT_NOT_FOUND:
                    return out
                raise
            fbits, dbits, count = struct.unpack_from(">HHH", body)
            pos = 6
            for _ in range(count):
                length, flag = struct.unpack_from(">HB", body, pos)
                is_dir = bool(flag & 0x80)
                parent, node, name = _parse_params(body[pos + 4 : pos + length], dbits if is_dir else fbits)
                out.append(Entry(name=name, node_id=node, parent_id=parent, is_dir=is_dir))
                pos += length
            start += count
            if count == 0:
                return out

    def resolve_id(self, vol: int, cnid: int) -> Entry:
        """FPResolveID: what a Mac does with a remembered file ID. Raises AfpError(-5034) if the ID is unknown."""
        bits = BIT_PARENT_DID | BIT_LONG_NAME | BIT_NODE_ID
        body = self._afp(struct.pack(">BBHIH", FP_RESOLVE_ID, 0, vol, cnid, bits))
        (bitmap,) = struct.unpack_from(">H", body)
        parent, node, name = _parse_params(body[2:], bitmap)
        return Entry(name=name, node_id=node, parent_id=parent, is_dir=False)
