"""Snapshot naming schemes as values: the time a snapshot name encodes, and back.

A scheme is a strftime-like pattern (``%Y %m %d %H %M`` required, ``%S`` optional; no ``%%``: ZFS names have no
percent sign, it is the range operator of ``zfs destroy``) plus
the IANA zone its wall-clock fields are written in. zfstm's own names are UTC and sortable
(``zfstm-20261128T021500Z``). Seed-era names such as ``20261128_0215`` or ``20261128_0215_pre-upgrade`` can be
*adopted*: read (never written) in the zone their author's clock used.

Every scheme is checked when it is built: two instants with the same wall-clock in opposite time zones (UTC+14 and
UTC-12) are formatted and parsed back; a scheme that cannot tell them apart or does not return them is rejected.
A scheme zfstm writes must also have one UTC offset for ever, because local names repeat in the autumn hour.

Adopted names in a zone with daylight saving time are read deliberately like this:

* a wall time that occurs twice (the repeated autumn hour) is the FIRST occurrence (``fold=0``, summer time);
* a wall time that never occurred (the skipped spring hour) uses the offset in force BEFORE the change, which is
  what a clock that had not been moved yet would have shown (``02:30`` in Europe/Berlin on the spring day is
  ``01:30Z``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from zfstm.errors import ConfigError

DEFAULT_PATTERN = "zfstm-%Y%m%dT%H%M%SZ"
#: The seed-era hand-made style ``YYYYMMDD_HHMM[SUFFIX]``; adopt it with the zone it was written in.
LEGACY_PATTERN = "%Y%m%d_%H%M"

_FIELDS = {"Y": 4, "m": 2, "d": 2, "H": 2, "M": 2, "S": 2}
_REQUIRED = ("Y", "m", "d", "H", "M")
_LITERAL = re.compile(r"[A-Za-z0-9_.:-]*")
#: Characters ZFS accepts in a snapshot name that a suffix may use.
_SUFFIX = r"[A-Za-z0-9_.:\- ]*"
_PROBE_WALL = datetime(2001, 2, 3, 4, 5, 6)
_PROBE_ZONES = (timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)))
_OFFSET_SCAN_YEARS = range(1971, 2038)


@attrs.frozen
class NamingScheme:
    """A pattern plus the zone of its wall-clock fields; ``suffix`` accepts free text after the time."""

    pattern: str = DEFAULT_PATTERN
    zone: str = "UTC"
    suffix: bool = False
    adopted: bool = False

    def __attrs_post_init__(self) -> None:
        _ = self._regex  # compile and validate now: a bad pattern fails at construction, not at the first name
        zone = self._zone
        if not self.adopted and not _has_fixed_offset(zone):
            raise ConfigError(
                f"naming scheme {self.pattern!r} in zone {self.zone}: names written in a zone with daylight saving "
                "time repeat in the autumn hour; write names in UTC (adopt existing local names with adopted=true)"
            )
        self._self_check()

    @cached_property
    def _zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"naming scheme {self.pattern!r}: unknown time zone {self.zone!r} (use an IANA name such as UTC)"
            ) from None

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        return _compile(self.pattern, suffix=self.suffix)

    @property
    def resolution(self) -> timedelta:
        """The smallest step the names can tell apart (a minute without ``%S``)."""
        return timedelta(seconds=1) if "%S" in self.pattern else timedelta(minutes=1)

    def matches(self, short_name: str) -> bool:
        """Whether a snapshot's short name (after ``@``) is written in this scheme."""
        return self.parse(short_name) is not None

    def parse(self, short_name: str) -> datetime | None:
        """The UTC instant the name encodes, or None when the name is not in this scheme (or names no instant).

        None makes a snapshot foreign, which is never destroyed: one hostile name must not stop a target."""
        found = self._regex.fullmatch(short_name)
        if found is None:
            return None
        fields = found.groupdict()
        try:
            wall = datetime(
                int(fields["Y"]),
                int(fields["m"]),
                int(fields["d"]),
                int(fields["H"]),
                int(fields["M"]),
                int(fields.get("S") or 0),
                tzinfo=self._zone,
                fold=0,
            )
            return wall.astimezone(UTC)
        except ValueError:
            return None  # 20261328_0215 matches the digits but is no date
        except OverflowError:
            return None  # 00010101_0000 in Europe/Berlin is before year 1 in UTC: no instant, so not zfstm's

    def format(self, instant: datetime) -> str:
        """The name for an aware instant (truncated to the scheme's resolution). Adopted schemes are read-only."""
        if self.adopted:
            raise ConfigError(f"naming scheme {self.pattern!r} is adopted (read-only): zfstm does not write it")
        return self._render(instant)

    def _render(self, instant: datetime) -> str:
        if instant.tzinfo is None:
            raise ValueError(f"{instant.isoformat()} has no time zone")
        local = instant.astimezone(self._zone)
        values = {
            "Y": f"{local.year:04d}",
            "m": f"{local.month:02d}",
            "d": f"{local.day:02d}",
            "H": f"{local.hour:02d}",
            "M": f"{local.minute:02d}",
            "S": f"{local.second:02d}",
        }
        return re.sub(r"%(.)", lambda m: values[m.group(1)], self.pattern)

    def _self_check(self) -> None:
        """Format two instants with the same wall time in opposite zones and parse them back (lossless or refuse)."""
        names = []
        for zone in _PROBE_ZONES:
            instant = _PROBE_WALL.replace(tzinfo=zone)
            name = self._render(instant)
            back = self.parse(name)
            expected = _truncate(instant.astimezone(UTC), self.resolution)
            if back != expected:
                raise ConfigError(
                    f"naming scheme {self.pattern!r} in {self.zone}: {instant.isoformat()} became {name!r}, which "
                    f"reads back as {back}: the scheme loses information; include %Y %m %d %H %M"
                )
            names.append(name)
        if names[0] == names[1]:
            raise ConfigError(f"naming scheme {self.pattern!r}: two different instants both became {names[0]!r}")


def legacy_scheme(zone: str) -> NamingScheme:
    """The seed-era style ``YYYYMMDD_HHMM[SUFFIX]`` in the zone its names were written in, adopted (read-only)."""
    return NamingScheme(pattern=LEGACY_PATTERN, zone=zone, suffix=True, adopted=True)


def _compile(pattern: str, *, suffix: bool) -> re.Pattern[str]:
    parts: list[str] = []
    seen: set[str] = set()
    literal: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char != "%":
            literal.append(char)
            index += 1
            continue
        if index + 1 >= len(pattern):
            raise ConfigError(f"naming scheme {pattern!r}: a lone % at the end")
        code = pattern[index + 1]
        index += 2
        if code not in _FIELDS:
            raise ConfigError(f"naming scheme {pattern!r}: %{code} is not supported (use %Y %m %d %H %M %S only)")
        if code in seen:
            raise ConfigError(f"naming scheme {pattern!r}: %{code} appears twice")
        seen.add(code)
        parts.append(_literal(pattern, "".join(literal)))
        literal = []
        parts.append(f"(?P<{code}>[0-9]{{{_FIELDS[code]}}})")
    parts.append(_literal(pattern, "".join(literal)))
    missing = [f"%{code}" for code in _REQUIRED if code not in seen]
    if missing:
        raise ConfigError(f"naming scheme {pattern!r}: missing {' '.join(missing)}, so names cannot say their time")
    if suffix:
        parts.append(_SUFFIX)
    return re.compile("".join(parts))


def _literal(pattern: str, text: str) -> str:
    if not _LITERAL.fullmatch(text):
        raise ConfigError(
            f"naming scheme {pattern!r}: {text!r} has characters a ZFS snapshot name cannot carry "
            "(use letters, digits, _ - . :)"
        )
    return re.escape(text)


def _has_fixed_offset(zone: ZoneInfo) -> bool:
    offsets = {
        datetime(year, month, 1, tzinfo=zone).utcoffset() for year in _OFFSET_SCAN_YEARS for month in (1, 4, 7, 10)
    }
    return len(offsets) == 1


def _truncate(instant: datetime, step: timedelta) -> datetime:
    if step >= timedelta(minutes=1):
        return instant.replace(second=0, microsecond=0)
    return instant.replace(microsecond=0)


#: zfstm's own names: ``zfstm-20261128T021500Z`` (UTC, sortable).
DEFAULT_SCHEME = NamingScheme()
