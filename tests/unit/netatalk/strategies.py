"""Hypothesis strategies for Netatalk values (CNID records, rootinfo, metadata EAs)."""

from __future__ import annotations

from hypothesis import strategies as st

from zfstm.netatalk.cnid import CnidRecord, EntryType, RootInfo
from zfstm.netatalk.metadata_ea import MetadataEa

u32 = st.integers(min_value=0, max_value=2**32 - 1)
u64 = st.integers(min_value=0, max_value=2**64 - 1)
# Any byte string without NUL is a valid on-disk name; surrogateescape makes it a str.
names = (
    st.binary(min_size=1, max_size=255)
    .filter(lambda b: b"\0" not in b)
    .map(lambda b: b.decode("utf-8", "surrogateescape"))
)
records = st.builds(
    CnidRecord,
    cnid=st.integers(min_value=1, max_value=2**32 - 1),
    dev=u64,
    ino=u64,
    type=st.sampled_from(EntryType),
    did=u32,
    name=names,
)
rootinfos = st.builds(RootInfo, stamp=st.binary(min_size=8, max_size=8), last_cnid=u32, version=u32)
metadata_eas = st.builds(
    MetadataEa,
    cnid=u32,
    dev=u64,
    ino=u64,
    stamp=st.binary(min_size=8, max_size=8),
    finder_info=st.binary(min_size=32, max_size=32),
    comment=st.binary(max_size=200),
    dates=st.binary(min_size=16, max_size=16),
    afp_file_info=st.binary(min_size=4, max_size=4),
    filler=st.binary(min_size=16, max_size=16),
)
