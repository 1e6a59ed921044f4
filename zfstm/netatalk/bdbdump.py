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


class DumpFormatError(ValueError):
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


def _hex_line(line: str, lineno: int) -> bytes:
    if not line.startswith(" "):
        raise DumpFormatError(f"line {lineno}: expected a data line starting with a space, got {line[:40]!r}")
    try:
        return bytes.fromhex(line[1:])
    except ValueError as exc:
        raise DumpFormatError(f"line {lineno}: not hexadecimal ({exc})") from None


def parse_dump(text: str) -> tuple[DumpedDatabase, ...]:
    """Parse every database in a bytevalue dump. A dump cut short (no DATA=END) is an error, not a short result."""
    databases: list[DumpedDatabase] = []
    lines = text.splitlines()
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
        pairs: list[tuple[bytes, bytes]] = []
        while i < len(lines) and lines[i] != "DATA=END":
            if i + 1 >= len(lines) or lines[i + 1] == "DATA=END":
                raise DumpFormatError(f"line {i + 1}: key without data")
            pairs.append((_hex_line(lines[i], i + 1), _hex_line(lines[i + 1], i + 2)))
            i += 2
        if i == len(lines):
            raise DumpFormatError("dump ends before DATA=END: the database was cut short or the tool failed")
        i += 1
        databases.append(DumpedDatabase(header=tuple(header), pairs=tuple(pairs)))
    return tuple(databases)


def format_dump(database: DumpedDatabase) -> str:
    """The inverse of :func:`parse_dump` for one database (used by tests and fixtures)."""
    out = [f"{k}={v}" for k, v in database.header]
    out.append("HEADER=END")
    for key, data in database.pairs:
        out.append(" " + key.hex())
        out.append(" " + data.hex())
    out.append("DATA=END")
    return "\n".join(out) + "\n"
