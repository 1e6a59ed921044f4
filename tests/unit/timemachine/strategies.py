"""Hypothesis strategies for Time Machine plists, observations and snapshot records."""

from __future__ import annotations

import plistlib
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from tests.unit.timemachine.fixtures import NOW
from zfstm.timemachine.detector import Activity, ActivityState, Observations
from zfstm.timemachine.machineid import Verdict
from zfstm.timemachine.properties import SnapshotRecord

formats = st.sampled_from([plistlib.FMT_XML, plistlib.FMT_BINARY])

#: Aware UTC datetimes with whole seconds: what both plist formats store exactly.
plist_dates = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)).map(
    lambda moment: moment.replace(microsecond=0)
)

# XML plists cannot carry control characters, and turn "\r" into "\n".
plist_text = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=40)
plist_scalars = st.one_of(
    plist_text,
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.binary(max_size=40),
    plist_dates.map(lambda moment: moment.replace(tzinfo=None)),
)
plist_values = st.recursive(
    plist_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(plist_text, children, max_size=4),
    max_leaves=20,
)
plist_dicts = st.dictionaries(plist_text, plist_values, max_size=6)

#: Offsets around NOW, from three days before to an hour after.
offsets = st.integers(min_value=-3 * 86400, max_value=3600).map(lambda seconds: timedelta(seconds=seconds))
moments = offsets.map(lambda offset: NOW + offset)


@st.composite
def observations(draw: st.DrawFn) -> Observations:
    """Any combination of known and unknown signals around NOW."""
    written = draw(st.none() | st.integers(min_value=0, max_value=2**40))
    return Observations(
        now=NOW,
        latest_completion=draw(st.none() | moments),
        newest_band_mtime=draw(st.none() | moments),
        incomplete_bundle=draw(st.booleans()),
        open_sessions=draw(st.none() | st.integers(min_value=0, max_value=3)),
        written_bytes=written,
        previous_written_bytes=draw(st.none() | st.integers(min_value=0, max_value=2**40)),
    )


activities = st.builds(
    Activity,
    state=st.sampled_from(ActivityState),
    reason=st.text(max_size=20),
    completed_at=st.none() | moments,
    last_write_at=st.none() | moments,
)

snapshot_names = st.from_regex(r"zfstm-[0-9a-z]{1,8}", fullmatch=True)


@st.composite
def snapshot_records(draw: st.DrawFn, min_size: int = 0) -> list[SnapshotRecord]:
    """Snapshots of one dataset with unique names, mixed eligibility, in no particular order."""
    names = draw(st.lists(snapshot_names, unique=True, min_size=min_size, max_size=12))
    return [
        SnapshotRecord(
            name=name,
            created=draw(moments),
            managed=draw(st.booleans()),
            activity=draw(st.none() | st.sampled_from(ActivityState)),
            tm_completed=draw(st.none() | moments),
            verdict=draw(st.sampled_from(Verdict)),
        )
        for name in names
    ]


@st.composite
def settled_observations(draw: st.DrawFn) -> Observations:
    """Observations shaped like a finished backup (bands written shortly before or after the completion), so that
    properties about "completed and quiet" are exercised often rather than by luck."""
    completion = draw(moments)
    band = completion + draw(st.integers(-3600, 900).map(lambda s: timedelta(seconds=s)))
    written = draw(st.none() | st.integers(min_value=0, max_value=2**30))
    return Observations(
        now=NOW,
        latest_completion=completion,
        newest_band_mtime=band,
        incomplete_bundle=False,
        open_sessions=draw(st.none() | st.just(0)),
        written_bytes=written,
        previous_written_bytes=written,
    )


any_observations = observations() | settled_observations()
