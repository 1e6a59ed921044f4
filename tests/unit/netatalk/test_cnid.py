"""CNID record and rootinfo codecs (zfstm.netatalk.cnid)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given

from tests.unit.netatalk.strategies import records, rootinfos
from zfstm.netatalk.bdbdump import parse_dump
from zfstm.netatalk.cnid import (
    ROOTINFO_KEY,
    CnidFormatError,
    CnidRecord,
    EntryType,
    RootInfo,
    database_from_pairs,
    decode_record,
    decode_rootinfo,
    encode_record,
    encode_rootinfo,
)


@given(records)
def test_record_round_trip(record: CnidRecord) -> None:
    """Decoding an encoded record gives the same record back."""
    key, data = encode_record(record)
    assert decode_record(key, data) == record


@given(records)
def test_record_layout_is_big_endian_and_nul_terminated(record: CnidRecord) -> None:
    """The key is the CNID; fields sit at netatalk's offsets in big-endian order; the name ends in one NUL."""
    key, data = encode_record(record)
    assert key == struct.pack(">I", record.cnid) == data[:4]
    assert struct.unpack_from(">QQII", data, 4) == (record.dev, record.ino, int(record.type), record.did)
    assert data.endswith(b"\0") and data.count(b"\0", 28) == 1


@given(rootinfos)
def test_rootinfo_round_trip(info: RootInfo) -> None:
    """Decoding an encoded rootinfo gives it back, and the record is netatalk's 37 bytes ending in RootInfo."""
    key, data = encode_rootinfo(info)
    assert key == ROOTINFO_KEY and len(data) == 37 and data.endswith(b"RootInfo\0")
    assert decode_rootinfo(data) == info


def test_rootinfo_of_a_fresh_database() -> None:
    """A fresh database (counter 16, version 1) decodes to last_cnid 16: the first file gets CNID 17."""
    data = b"\0" * 4 + b"\x11" * 8 + b"\0" * 8 + struct.pack(">II", 16, 1) + b"RootInfo\0"
    assert decode_rootinfo(data) == RootInfo(stamp=b"\x11" * 8, last_cnid=16, version=1)


@pytest.mark.parametrize(
    ("key", "data", "message"),
    [
        (b"\0\0\0\x11", b"\0" * 10, "too short"),
        (b"\0\0\0\x11", struct.pack(">IQQII", 18, 1, 2, 0, 2) + b"a\0", "says CNID 18"),
        (b"\0\0\0\x11", struct.pack(">IQQII", 17, 1, 2, 7, 2) + b"a\0", "unknown type"),
        (b"\0\0\0\x11", struct.pack(">IQQII", 17, 1, 2, 0, 2) + b"ab", "NUL-terminated"),
        (b"\0\0\x11", struct.pack(">IQQII", 17, 1, 2, 0, 2) + b"a\0", "key of 3 bytes"),
        (ROOTINFO_KEY, b"\0" * 37, "rootinfo"),
    ],
)
def test_decode_record_refuses_malformed_bytes(key: bytes, data: bytes, message: str) -> None:
    """Malformed records raise CnidFormatError naming the problem instead of yielding a wrong record."""
    with pytest.raises(CnidFormatError, match=message):
        decode_record(key, data)


def test_decode_rootinfo_refuses_wrong_length() -> None:
    """A rootinfo record that is not 37 bytes with the RootInfo marker is refused."""
    with pytest.raises(CnidFormatError):
        decode_rootinfo(b"\0" * 36)


def test_database_from_pairs_sorts_and_separates_rootinfo() -> None:
    """The rootinfo pair becomes .rootinfo; records come out in CNID order."""
    a = CnidRecord(cnid=20, dev=1, ino=5, type=EntryType.FILE, did=2, name="b")
    b = CnidRecord(cnid=17, dev=1, ino=4, type=EntryType.DIR, did=2, name="a")
    info = RootInfo(stamp=b"\0" * 8, last_cnid=20, version=1)
    db = database_from_pairs([encode_record(a), encode_rootinfo(info), encode_record(b)])
    assert db.rootinfo == info
    assert db.records == (b, a)


FIXTURES = Path(__file__).parent / "fixtures"


def test_reads_the_first_records_of_a_real_netatalk_4_2_3_database() -> None:
    """The start of `db5.3_dump -s cnid2.db` of the testbed's database (2,030 objects created over AFP) decodes:
    rootinfo with counter 2046 and version 1, CNID 17 the first directory under the root (DID 2), fields big-endian,
    dev 34 (ZFS st_dev), and a re-encode gives the very same bytes."""
    (dumped,) = parse_dump((FIXTURES / "cnid2-dump-netatalk-4.2.3.txt").read_text())
    assert dumped.type == "btree"
    db = database_from_pairs(dumped.pairs)
    assert db.rootinfo is not None
    assert (db.rootinfo.last_cnid, db.rootinfo.version) == (2046, 1)
    first = db.records[0]
    assert first == CnidRecord(cnid=17, dev=34, ino=2, type=EntryType.DIR, did=2, name="mac.sparsebundle")
    assert db.records[1].name == "Info.plist" and db.records[1].did == 17 and db.records[1].type is EntryType.FILE
    assert len(db.records) == 30
    for key, data in dumped.pairs:
        if key != ROOTINFO_KEY:
            assert encode_record(decode_record(key, data)) == (key, data)
        else:
            assert encode_rootinfo(decode_rootinfo(data)) == (key, data)
