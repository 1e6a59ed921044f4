"""Find the line of a key in TOML text, because ``tomllib`` reports values without positions.

A configuration error is only useful when it names the file, the line and the key. ``tomllib`` gives line numbers
for syntax errors but not for keys of a document that parsed, so this module scans the text once for table headers
(``[a.b]``, ``[[targets]]``) and ``key = value`` lines and remembers where each key path starts. A key path is a
tuple of names and array indices, e.g. ``("targets", 0, "retention", "daily")``. Keys inside inline tables and
arrays are not located one by one: :meth:`KeyLocator.line_of` then answers with the line of the nearest enclosing
key it knows, which is the line the value is written on.

Pure: text in, positions out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from zfstm.textfile import split_lines

KeyPath = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def format_key(path: Sequence[str | int]) -> str:
    """``targets[0].retention.daily``: how messages spell a key path."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            shown = part if _BARE.fullmatch(part) else '"' + part.replace('"', '\\"') + '"'
            text += ("." if text else "") + shown
    return text or "(top level)"


def _split_key(text: str) -> tuple[str, ...] | None:
    """Dotted TOML key ``a."b.c".d`` -> ("a", "b.c", "d"); None when it is not a key."""
    parts: list[str] = []
    rest = text.strip()
    while rest:
        if rest[0] in "\"'":
            quote = rest[0]
            end = rest.find(quote, 1)
            while quote == '"' and end > 0 and rest[end - 1] == "\\":
                end = rest.find(quote, end + 1)
            if end < 0:
                return None
            parts.append(rest[1:end].replace('\\"', '"'))
            rest = rest[end + 1 :].strip()
        else:
            found = _BARE.match(rest)
            if found is None:
                return None
            parts.append(found.group(0))
            rest = rest[found.end() :].strip()
        if rest.startswith("."):
            rest = rest[1:].strip()
            if not rest:
                return None
        elif rest:
            return None
    return tuple(parts) or None


def _strip_comment(line: str) -> str:
    """The line without a trailing ``# comment`` (a ``#`` inside a string is kept)."""
    quote = ""
    index = 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 2
                continue
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:index]
        index += 1
    return line


def _value_state(value: str, depth: int) -> tuple[int, str]:
    """Bracket depth after ``value`` and an open multi-line string delimiter (``'''``/``\"\"\"``) if one stays open."""
    index = 0
    while index < len(value):
        for triple in ('"""', "'''"):
            if value.startswith(triple, index):
                end = value.find(triple, index + 3)
                if end < 0:
                    return depth, triple
                index = end + 3
                break
        else:
            char = value[index]
            if char in "\"'":
                end = value.find(char, index + 1)
                while char == '"' and end > 0 and value[end - 1] == "\\":
                    end = value.find(char, end + 1)
                index = len(value) if end < 0 else end + 1
                continue
            if char in "[{":
                depth += 1
            elif char in "]}":
                depth -= 1
            elif char == "#":
                break
            index += 1
    return max(depth, 0), ""


@attrs.frozen
class KeyLocator:
    """Line numbers (1-based) of every table header and ``key =`` line of one TOML text."""

    lines: dict[KeyPath, int]

    @classmethod
    def scan(cls, text: str) -> KeyLocator:
        """Scan ``text`` once. Never raises: text it cannot follow simply locates fewer keys."""
        found: dict[KeyPath, int] = {}
        arrays: dict[tuple[str, ...], int] = {}  # array-of-tables name path -> index of its last element
        table: KeyPath = ()
        depth = 0
        open_string = ""
        for number, raw in enumerate(split_lines(text), start=1):
            if open_string:
                if open_string in raw:
                    rest = raw.split(open_string, 1)[1]
                    depth, open_string = _value_state(rest, depth)
                continue
            if depth > 0:
                depth, open_string = _value_state(raw, depth)
                continue
            line = _strip_comment(raw).strip()
            if not line:
                continue
            if line.startswith("[[") and line.endswith("]]"):
                names = _split_key(line[2:-2])
                if names is not None:
                    arrays[names] = arrays.get(names, -1) + 1
                    table = (*_resolve(names[:-1], arrays), names[-1], arrays[names])
                    found.setdefault(table, number)
                continue
            if line.startswith("[") and line.endswith("]"):
                names = _split_key(line[1:-1])
                if names is not None:
                    table = _resolve(names, arrays)
                    found.setdefault(table, number)
                continue
            key_text, sep, value = line.partition("=")
            keys = _split_key(key_text) if sep else None
            if keys is None:
                continue
            for length in range(1, len(keys) + 1):
                found.setdefault((*table, *keys[:length]), number)
            depth, open_string = _value_state(value, 0)
        return cls(found)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, or of its nearest enclosing key or table that the scan saw; None if none."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return None


def _resolve(names: Sequence[str], arrays: dict[tuple[str, ...], int]) -> KeyPath:
    """A header's name path with the current index inserted after every array of tables it passes through."""
    path: list[str | int] = []
    for length in range(1, len(names) + 1):
        path.append(names[length - 1])
        index = arrays.get(tuple(names[:length]))
        if index is not None:
            path.append(index)
    return tuple(path)
