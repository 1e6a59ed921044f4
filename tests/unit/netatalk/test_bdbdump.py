"""Parsing db_dump bytevalue output (zfstm.netatalk.bdbdump)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfstm.netatalk.bdbdump import DumpedDatabase, DumpFormatError, format_dump, parse_dump

HEADER = (("VERSION", "3"), ("format", "bytevalue"), ("database", "cnid2.db"), ("type", "btree"))

pairs = st.lists(st.tuples(st.binary(min_size=1, max_size=40), st.binary(min_size=1, max_size=80)), max_size=20)


@given(pairs)
def test_format_then_parse_round_trips(items: list[tuple[bytes, bytes]]) -> None:
    """Any set of key/data pairs survives formatting as a dump and parsing it back."""
    db = DumpedDatabase(header=HEADER, pairs=tuple(items))
    assert parse_dump(format_dump(db)) == (db,)


def test_parses_a_real_looking_dump() -> None:
    """A dump in db5.3_dump's layout yields the header fields and the pairs."""
    text = (
        "VERSION=3\nformat=bytevalue\ndatabase=cnid2.db\ntype=btree\ndb_pagesize=4096\nHEADER=END\n"
        " 00000000\n 00000000aabbccdd\n 00000011\n 0102\nDATA=END\n"
    )
    (db,) = parse_dump(text)
    assert db.name == "cnid2.db" and db.type == "btree"
    assert db.pairs == ((b"\0\0\0\0", bytes.fromhex("00000000aabbccdd")), (b"\0\0\0\x11", b"\x01\x02"))


@pytest.mark.parametrize(
    "text",
    [
        "VERSION=3\nformat=bytevalue\nHEADER=END\n 00\n 01\n",  # no DATA=END: cut short
        "VERSION=3\nformat=bytevalue\n",  # no HEADER=END
        "VERSION=3\nformat=print\nHEADER=END\nDATA=END\n",  # -p output
        "VERSION=3\nformat=bytevalue\nHEADER=END\n 0g\n 01\nDATA=END\n",  # not hex
        "VERSION=3\nformat=bytevalue\nHEADER=END\n 00\nDATA=END\n",  # key without data
    ],
)
def test_refuses_truncated_or_foreign_output(text: str) -> None:
    """Truncated, printable-format or garbled dumps raise DumpFormatError rather than returning fewer records."""
    with pytest.raises(DumpFormatError):
        parse_dump(text)
