"""Durations as people write them in flags and config: ``24h``, ``31d``, ``2w``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta

from zfstm.errors import ConfigError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"([0-9]+)([smhdw])")
#: Longer than any retention or interval means anything (``forever`` says it); datetime arithmetic stays in range.
MAX_SECONDS = 1000 * 366 * 86400


def parse_duration(text: str) -> timedelta:
    """``24h`` -> 24 hours; several parts add up (``1d12h``). Only positive, whole-second durations."""
    cleaned = text.strip().lower()
    position = 0
    seconds = 0
    for found in _PART.finditer(cleaned):
        if found.start() != position:
            break
        seconds += int(found.group(1)) * _UNITS[found.group(2)]
        position = found.end()
    if not cleaned or position != len(cleaned) or seconds <= 0:
        raise ConfigError(f"{text!r} is not a duration: write a number and a unit s m h d w, e.g. 24h, 31d, 1h30m")
    if seconds > MAX_SECONDS:
        raise ConfigError(f"{text[:40]!r} is longer than 1000 years: write 'forever' where a limit may be forever")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest text ``parse_duration`` reads back as the same duration (``31d``, ``1d12h``)."""
    remaining = int(value.total_seconds())
    if remaining <= 0:
        return "0s"
    parts = []
    for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
        if unit == "w" or (unit == "d" and remaining < 2 * size):
            continue  # 10d reads better than 1w3d, 24h better than 1d
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
