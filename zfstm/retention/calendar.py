"""Calendar buckets on the local clock of an IANA zone, computed with integers for speed.

An instant's *local seconds* are its UTC epoch seconds plus the zone's UTC offset at that instant, so they count
wall-clock time as if it were UTC. A bucket is then a plain integer: the local hour ``ls // 3600``, the local day
``ls // 86400``, the number of the local week (counted from the week-start day before the epoch), or
``year * 12 + month - 1``. An hour key determines its day and a
day its week, so hours nest in days and days in weeks whatever the zone does.

Across DST the buckets are labels of the local clock: the repeated autumn hour is ONE bucket lasting two real hours
(Lord Howe: 90 minutes), the skipped spring hour has no bucket, a local day has 23 or 25 hours.

Offsets are cached per UTC day: a day whose first and last second have the same offset is taken to have no change
inside (no zone changes its offset and back within one day); the few days with a change are computed per instant.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import attrs

from zfstm.retention.policy import WEEKDAYS, Unit

_SLOT = 86400
_MIXED = object()
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_THURSDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)

#: How far (seconds) a bucket can reach before an instant in it; bounds the scan for representatives.
BUCKET_REACH = {
    Unit.HOUR: 3600 + 3 * 3600,
    Unit.DAY: 86400 + 3 * 3600,
    Unit.WEEK: 7 * 86400 + 3 * 3600,
    Unit.MONTH: 31 * 86400 + 3 * 3600,
}


@attrs.define(eq=False)
class LocalCalendar:
    """Bucket keys and labels for one zone and week start. Holds a cache, so it is not a value: do not share it."""

    zone_name: str
    week_start: int = 0
    _zone: ZoneInfo = attrs.field(init=False)
    _offsets: dict[int, object] = attrs.field(init=False, factory=dict)
    _months: dict[int, int] = attrs.field(init=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        self._zone = ZoneInfo(self.zone_name)

    def offset(self, epoch: int) -> int:
        """UTC offset in seconds at a UTC epoch second."""
        slot = epoch // _SLOT
        cached = self._offsets.get(slot)
        if cached is None:
            first = self._exact_offset(slot * _SLOT)
            last = self._exact_offset(slot * _SLOT + _SLOT - 1)
            cached = first if first == last else _MIXED
            self._offsets[slot] = cached
        if cached is _MIXED:
            return self._exact_offset(epoch)
        return cached  # type: ignore[return-value]

    def local_seconds(self, epochs: Sequence[int]) -> array[int]:
        """Wall-clock seconds (as if UTC) for ascending UTC epoch seconds, one offset lookup per UTC day.

        An array, not a list: 8 bytes a snapshot instead of 40 (a list of new ints), at a million snapshots."""
        result: array[int] = array("q")
        index = 0
        count = len(epochs)
        while index < count:
            slot = epochs[index] // _SLOT
            end = bisect_left(epochs, (slot + 1) * _SLOT, index)
            self.offset(slot * _SLOT)
            cached = self._offsets[slot]
            if cached is _MIXED:
                result.extend(epoch + self._exact_offset(epoch) for epoch in epochs[index:end])
            else:
                offset: int = cached  # type: ignore[assignment]
                result.extend([epoch + offset for epoch in epochs[index:end]])
            index = end
        return result

    def keys(self, unit: Unit, local: Sequence[int]) -> array[int]:
        """The bucket key of each local-seconds value (an array, as :meth:`local_seconds` says why)."""
        if unit is Unit.HOUR:
            return _chunked(local, lambda part: [value // 3600 for value in part])
        if unit is Unit.DAY:
            return _chunked(local, lambda part: [value // 86400 for value in part])
        if unit is Unit.WEEK:
            shift = (_THURSDAY - self.week_start) * 86400
            return _chunked(local, lambda part: [(value + shift) // 604800 for value in part])
        months = self._months
        result: array[int] = array("q")
        for value in local:
            day = value // 86400
            month = months.get(day)
            if month is None:
                as_date = date.fromordinal(_EPOCH_ORDINAL + day)
                month = months[day] = as_date.year * 12 + as_date.month - 1
            result.append(month)
        return result

    def label(self, unit: Unit, key: int) -> str:
        """The bucket as people read it, e.g. ``2026-11-28 13:00``, ``2026-11-27``, ``2026-W48``, ``2026-11``."""
        if unit is Unit.HOUR:
            return (datetime(1970, 1, 1) + timedelta(hours=key)).strftime("%Y-%m-%d %H:00")
        if unit is Unit.DAY:
            return date.fromordinal(_EPOCH_ORDINAL + key).isoformat()
        if unit is Unit.WEEK:
            first = date.fromordinal(_EPOCH_ORDINAL + 7 * key - (_THURSDAY - self.week_start))
            if self.week_start == 0:
                year, week, _ = first.isocalendar()
                return f"{year}-W{week:02d}"
            return f"week of {WEEKDAYS[self.week_start].capitalize()[:3]} {first.isoformat()}"
        year, month0 = divmod(key, 12)
        return f"{year:04d}-{month0 + 1:02d}"

    def _exact_offset(self, epoch: int) -> int:
        offset = datetime.fromtimestamp(epoch, UTC).astimezone(self._zone).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0


#: Values computed as a list at a time: a list of new ints costs 40 bytes a value, the array 8.
_CHUNK = 65536


def _chunked(values: Sequence[int], compute: Callable[[Sequence[int]], list[int]]) -> array[int]:
    """``compute`` over ``values`` a chunk at a time (a list comprehension's speed, an array's size)."""
    result: array[int] = array("q")
    for start in range(0, len(values), _CHUNK):
        result.extend(compute(values[start : start + _CHUNK]))
    return result
