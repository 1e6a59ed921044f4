"""FCE packets: hostile datagrams give one FceError, never another exception; what afpd sends parses back."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfstm.events.fce import MAGIC, FceError, FceEvent, FcePacket, build_fce, parse_fce

texts = st.text(st.characters(exclude_characters="\0", exclude_categories=["Cs"]), max_size=60)


@st.composite
def packets(draw: st.DrawFn) -> FcePacket:
    version = draw(st.sampled_from([1, 2]))
    event = draw(st.sampled_from(list(FceEvent)))
    event_id = draw(st.integers(0, 2**32 - 1))
    path = draw(texts)
    if version == 1:
        return FcePacket(1, event, event_id, path)
    pid = draw(st.none() | st.integers(0, 2**63))
    user = draw(st.none() | texts)
    source = draw(st.none() | texts)
    return FcePacket(2, event, event_id, path, pid, user, source)


@given(packets())
def test_what_is_built_parses_back(packet: FcePacket) -> None:
    assert parse_fce(build_fce(packet)) == packet


@given(st.binary(max_size=200))
def test_arbitrary_bytes_give_a_packet_or_an_fce_error(data: bytes) -> None:
    with contextlib.suppress(FceError):
        parse_fce(data)


@given(packets(), st.data())
def test_every_truncation_is_an_fce_error_or_a_shorter_valid_packet(packet: FcePacket, data: st.DataObject) -> None:
    raw = build_fce(packet)
    cut = data.draw(st.integers(0, len(raw) - 1))
    with contextlib.suppress(FceError):
        parse_fce(raw[:cut])


@given(packets(), st.binary(min_size=1, max_size=8), st.integers(0, 40))
def test_corrupted_bytes_never_raise_anything_else(packet: FcePacket, junk: bytes, at: int) -> None:
    raw = bytearray(build_fce(packet))
    at = min(at, len(raw))
    raw[at : at + len(junk)] = junk
    with contextlib.suppress(FceError):
        parse_fce(bytes(raw))


def test_version_1_layout_is_netatalks() -> None:
    """magic, version, event, event id, path length, path: no options, no padding."""
    raw = MAGIC + bytes([1, 4]) + struct.pack(">I", 7) + struct.pack(">H", 9) + b"/tank/tm/"
    assert parse_fce(raw) == FcePacket(1, FceEvent.FILE_CREATE, 7, "/tank/tm/")


def test_version_2_logout_with_pid_and_user() -> None:
    raw = MAGIC + bytes([2, 3, 9, 0]) + bytes(8) + struct.pack(">IQH", 5, 4242, 6) + b"tmuser" + b"\0\0"
    assert parse_fce(raw) == FcePacket(2, FceEvent.LOGOUT, 5, "", pid=4242, user="tmuser")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "magic"),
        (b"xx_fcapi\x02", "no FCE magic"),
        (MAGIC + b"\x03", "version 3"),
        (MAGIC + bytes([1, 77]) + bytes(6), "unknown FCE event 77"),
        (MAGIC + bytes([1, 1]) + struct.pack(">IH", 1, 500) + b"/x", "truncated at the path"),
        (MAGIC + bytes([1, 1]) + struct.pack(">IH", 1, 3) + b"/\0x", "NUL"),
        (b"x" * 70000, "longer"),
    ],
)
def test_defects_are_named(raw: bytes, message: str) -> None:
    with pytest.raises(FceError, match=message):
        parse_fce(raw)
