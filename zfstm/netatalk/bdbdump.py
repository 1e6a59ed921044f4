"""Parse the output of Berkeley DB's ``db_dump`` (``db5.3_dump`` on Debian) in its default "bytevalue" format.

Why the tool and not a binding: netatalk links libdb 5.3; Debian ships the matching ``db5.3_dump`` (package
db5.3-util) but no maintained Python binding any more, and illumos/pkgsrc ship ``db5_dump``-style tools too. The
tool opens the file read-only and understands every page type, so zfstm never guesses the file format. The
bytevalue format (hex pairs) is unambiguous, unlike ``-p`` (printable) whose escaping would have to be undone.

Format: per database a header of ``key=value`` lines ending in ``HEADER=END``, then alternating key and data lines
(each starting with one space, hex digits), then ``DATA=END``.
"""

from __future__ import annotations

import attrs

from zfstm.errors import CnidDatabaseError
from zfstm.textfile import split_lines


class DumpFormatError(CnidDatabaseError, ValueError):
    """The text is not db_dump bytevalue output (or it was cut short)."""


@attrs.frozen
class DumpedDatabase:
    """One (sub)database of a dump: its header fields and its key/data pairs in dump (key) order."""

    header: tuple[tuple[str, str], ...]
    pairs: tuple[tuple[bytes, bytes], ...]

    @property
    def name(self) -> str:
        return dict(self.header).get("database", "")

    @property
    def type(self) -> str:
        return dict(self.header).get("type", "")


def _hex_lines(block: list[str], first_lineno: int) -> list[bytes]:
    """The data lines of one database, decoded; a whole block at a time (a volume has tens of thousands)."""
    for offset, line in enumerate(block):
        if line[:1] != " ":
            lineno = first_lineno + offset
            raise DumpFormatError(f"line {lineno}: expected a data line starting with a space, got {line[:40]!r}")
    try:
        return [bytes.fromhex(line) for line in block]
    except ValueError:
        for offset, line in enumerate(block):
            try:
                bytes.fromhex(line)
            except ValueError as exc:
                raise DumpFormatError(f"line {first_lineno + offset}: not hexadecimal ({exc})") from None
        raise


def parse_dump(text: str) -> tuple[DumpedDatabase, ...]:
    """Parse every database in a bytevalue dump. A dump cut short (no DATA=END) is an error, not a short result."""
    databases: list[DumpedDatabase] = []
    lines = split_lines(text)
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        header: list[tuple[str, str]] = []
        while i < len(lines) and lines[i] != "HEADER=END":
            key, sep, value = lines[i].partition("=")
            if not sep or lines[i].startswith(" "):
                raise DumpFormatError(f"line {i + 1}: expected key=value in the dump header, got {lines[i][:40]!r}")
            header.append((key, value))
            i += 1
        if i == len(lines):
            raise DumpFormatError("dump ends inside a header (no HEADER=END)")
        fmt = dict(header).get("format")
        if fmt != "bytevalue":
            raise DumpFormatError(f"dump format is {fmt!r}; run the dump tool without -p (bytevalue format)")
        i += 1
        try:
            end = lines.index("DATA=END", i)
        except ValueError:
            raise DumpFormatError("dump ends before DATA=END: the database was cut short or the tool failed") from None
        if (end - i) % 2:
            raise DumpFormatError(f"line {end}: key without data")
        values = _hex_lines(lines[i:end], i + 1)
        databases.append(
            DumpedDatabase(header=tuple(header), pairs=tuple(zip(values[0::2], values[1::2], strict=True)))
        )
        i = end + 1
    return tuple(databases)


def format_dump(database: DumpedDatabase) -> str:
    """The inverse of :func:`parse_dump` for one database (what the load tool reads)."""
    header = "".join(f"{k}={v}\n" for k, v in database.header)
    data = "".join([f" {key.hex()}\n {value.hex()}\n" for key, value in database.pairs])
    return f"{header}HEADER=END\n{data}DATA=END\n"
