"""Hypothesis strategies for ZFS names: valid ones built from ZFS's character set, and the characters it refuses."""

from __future__ import annotations

import string

from hypothesis import strategies as st

from zfstm.zfs.names import DatasetName, SnapshotName

COMPONENT_ALPHABET = string.ascii_letters + string.digits + "_-.: "
#: Printable ASCII characters ZFS refuses in names (besides the separators '/', '@' and the reserved '%', '#').
FORBIDDEN = sorted(set(string.printable) - set(COMPONENT_ALPHABET) - {"/", "@"})

components = st.text(COMPONENT_ALPHABET, min_size=1, max_size=20).filter(lambda c: c not in {".", ".."})
pools = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(string.ascii_letters),
    st.text(COMPONENT_ALPHABET, max_size=10),
).filter(lambda p: p not in {"mirror", "raidz", "draid"})


@st.composite
def dataset_names(draw: st.DrawFn, max_depth: int = 4) -> DatasetName:
    """Valid dataset names: a pool and up to ``max_depth`` child components."""
    parts = [draw(pools), *draw(st.lists(components, max_size=max_depth))]
    return DatasetName("/".join(parts))


@st.composite
def snapshot_names(draw: st.DrawFn) -> SnapshotName:
    """Valid snapshot names of valid datasets."""
    return draw(dataset_names()).snapshot(draw(components))
