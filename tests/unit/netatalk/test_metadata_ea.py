"""The org.netatalk.Metadata EA codec (zfstm.netatalk.metadata_ea)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.netatalk.strategies import metadata_eas
from zfstm.errors import MetadataEaError
from zfstm.netatalk.metadata_ea import (
    EA_SIZE,
    ByteOrder,
    MetadataEa,
    decode_metadata_ea,
    encode_metadata_ea,
)
from zfstm.netatalk.scan import read_metadata_ea

orders = st.sampled_from(["little", "big"])


@given(metadata_eas, orders)
def test_round_trip(ea: MetadataEa, order: ByteOrder) -> None:
    """Decoding an encoded EA with the same byte order gives it back, always 402 bytes."""
    raw = encode_metadata_ea(ea, byteorder=order)
    assert len(raw) == EA_SIZE
    assert decode_metadata_ea(raw, byteorder=order) == ea


@given(metadata_eas)
def test_cnid_dev_ino_are_host_order_at_netatalk_offsets(ea: MetadataEa) -> None:
    """dev @374, ino @382, stamp @390 and CNID @398 are stored in the server's byte order (here little-endian)."""
    raw = encode_metadata_ea(ea, byteorder="little")
    assert struct.unpack_from("<QQ", raw, 374) == (ea.dev, ea.ino)
    assert raw[390:398] == ea.stamp
    assert struct.unpack_from("<I", raw, 398) == (ea.cnid,)
    assert struct.unpack_from(">II", raw, 0) == (0x00051607, 0x00020000)
    assert struct.unpack_from(">H", raw, 24) == (8,)


def test_wrong_size_is_refused() -> None:
    """An EA that is not 402 bytes raises MetadataEaError naming the sizes."""
    raw = encode_metadata_ea(MetadataEa(cnid=17, dev=1, ino=2, stamp=b"\0" * 8))
    with pytest.raises(MetadataEaError, match="401 bytes"):
        decode_metadata_ea(raw[:-1])


def test_wrong_magic_is_refused() -> None:
    """An EA with another magic (an AppleSingle or foreign blob) is refused."""
    raw = bytearray(encode_metadata_ea(MetadataEa(cnid=17, dev=1, ino=2, stamp=b"\0" * 8)))
    raw[3] = 0x00
    with pytest.raises(MetadataEaError, match="magic"):
        decode_metadata_ea(bytes(raw))


def test_entry_out_of_bounds_is_refused() -> None:
    """An entry whose offset+length leaves the 402 bytes is refused rather than read short."""
    raw = bytearray(encode_metadata_ea(MetadataEa(cnid=17, dev=1, ino=2, stamp=b"\0" * 8)))
    struct.pack_into(">I", raw, 26 + 7 * 12 + 4, 400)  # PRIVID offset 400, length 4 -> past the end
    with pytest.raises(MetadataEaError, match="out of bounds"):
        decode_metadata_ea(bytes(raw))


def test_read_from_a_file_without_ea_is_none(tmp_path: Path) -> None:
    """A file without the EA reads as None (netatalk has not touched it yet); nothing is written."""
    f = tmp_path / "plain"
    f.write_bytes(b"x")
    before = f.stat()
    assert read_metadata_ea(f) is None
    assert f.stat().st_mtime_ns == before.st_mtime_ns


def test_read_from_a_file_with_ea(tmp_path: Path) -> None:
    """An EA set as user.org.netatalk.Metadata on Linux is read back and decoded."""
    import os

    f = tmp_path / "file"
    f.write_bytes(b"x")
    ea = MetadataEa(cnid=4242, dev=7, ino=f.stat().st_ino, stamp=b"\x01" * 8)
    try:
        os.setxattr(f, "user.org.netatalk.Metadata", encode_metadata_ea(ea))
    except OSError:
        pytest.skip("this filesystem has no user xattrs")
    assert read_metadata_ea(f) == ea


FIXTURES = Path(__file__).parent / "fixtures"


def test_decodes_the_ea_netatalk_4_2_3_wrote_on_a_file() -> None:
    """The EA afpd 4.2.3 wrote on a band file in the testbed (x86_64, ZFS st_dev 34, inode 139, CNID 29) decodes
    with host (little-endian) order, and re-encoding it gives the same 402 bytes."""
    raw = bytes.fromhex((FIXTURES / "ea-file-netatalk-4.2.3.hex").read_text().strip())
    ea = decode_metadata_ea(raw, byteorder="little")
    assert (ea.cnid, ea.dev, ea.ino) == (29, 34, 139)
    assert ea.stamp == bytes.fromhex("174f0a6b00000000")
    assert encode_metadata_ea(ea, byteorder="little") == raw


def test_decodes_the_ea_netatalk_4_2_3_wrote_on_a_directory() -> None:
    """Directories carry the same EA; the testbed's first directory got CNID 17 (the first non-reserved one)."""
    raw = bytes.fromhex((FIXTURES / "ea-dir-netatalk-4.2.3.hex").read_text().strip())
    ea = decode_metadata_ea(raw, byteorder="little")
    assert (ea.cnid, ea.dev, ea.ino) == (17, 34, 2)
    assert encode_metadata_ea(ea, byteorder="little") == raw


def test_reading_it_big_endian_gives_a_different_cnid() -> None:
    """Byte order matters: the same bytes read as big-endian give a nonsense CNID, so it must be a parameter."""
    raw = bytes.fromhex((FIXTURES / "ea-file-netatalk-4.2.3.hex").read_text().strip())
    assert decode_metadata_ea(raw, byteorder="big").cnid == 29 << 24
