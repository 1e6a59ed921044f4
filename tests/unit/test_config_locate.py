"""Key locations in TOML text: headers, arrays of tables, dotted keys, and values spanning lines."""

from __future__ import annotations

from zfstm.config.locate import KeyLocator, format_key

TEXT = '''\
interval = "15m"  # comment with = sign
notes = """
fake = "not a key"
"""
[backend]
prefix = [
  "ssh",
  "host",
]
kind = "cli"

[[targets]]
dataset = "tank/a"
retention.daily = "3d"

[[targets]]
"quoted key" = 1
[targets.detector]
quiet_period = "5m"
'''


def test_lines_of_keys_tables_and_array_elements() -> None:
    """Each key is found on its own line; array-of-table elements get their index."""
    locator = KeyLocator.scan(TEXT)
    assert locator.line_of(("interval",)) == 1
    assert locator.line_of(("backend",)) == 5
    assert locator.line_of(("backend", "prefix")) == 6
    assert locator.line_of(("backend", "kind")) == 10
    assert locator.line_of(("targets", 0)) == 12
    assert locator.line_of(("targets", 0, "dataset")) == 13
    assert locator.line_of(("targets", 0, "retention", "daily")) == 14
    assert locator.line_of(("targets", 1, "quoted key")) == 17
    assert locator.line_of(("targets", 1, "detector", "quiet_period")) == 19


def test_text_inside_multiline_values_is_not_a_key() -> None:
    """Lines inside a multi-line string or array are never read as keys."""
    locator = KeyLocator.scan(TEXT)
    assert ("fake",) not in locator.lines
    assert locator.line_of(("fake",)) is None


def test_unknown_paths_fall_back_to_the_nearest_enclosing_key() -> None:
    """Keys inside inline values answer with the line of the value that holds them."""
    locator = KeyLocator.scan(TEXT)
    assert locator.line_of(("backend", "prefix", 1)) == 6
    assert locator.line_of(("targets", 1, "detector", "nope")) == 18


def test_format_key() -> None:
    """Key paths print as dotted names with [index] and quotes where needed."""
    assert format_key(("targets", 0, "retention", "daily")) == "targets[0].retention.daily"
    assert format_key(("a b",)) == '"a b"'
    assert format_key(()) == "(top level)"
