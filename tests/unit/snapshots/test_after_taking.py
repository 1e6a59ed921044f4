"""After a tick's snapshots, a fast listing confirms them; only the properties zfstm has just set come from memory."""

from __future__ import annotations

from datetime import UTC, datetime

from zfstm.naming import NamingScheme
from zfstm.snapshots.model import after_taking
from zfstm.snapshots.reader import read_dataset
from zfstm.snapshots.tags import MANAGED, STANDS_UNTIL
from zfstm.zfs import DatasetName
from zfstm.zfs.fake import FakeBackend

NAMING = NamingScheme()
FS = DatasetName("tank/tm")
OLD = NAMING.format(datetime(2026, 11, 1, 12, tzinfo=UTC))
NEW = NAMING.format(datetime(2026, 11, 2, 12, tzinfo=UTC))


def test_new_snapshots_and_marks_join_the_observation() -> None:
    fake = FakeBackend(pools=("tank",))
    fake.create_filesystem(FS)
    fake.snapshot([FS.snapshot(OLD)], {MANAGED: "yes"})
    seen = read_dataset(fake, FS, naming=NAMING, adopted=())
    fake.snapshot([FS.snapshot(NEW)], {MANAGED: "yes"})
    fake.set_property(FS.snapshot(OLD), STANDS_UNTIL, "20261102T120000Z")
    set_now = {FS.snapshot(NEW): {MANAGED: "yes"}, FS.snapshot(OLD): {STANDS_UNTIL: "20261102T120000Z"}}
    after = after_taking(seen, fake.list_datasets([FS])[FS.full], set_now, naming=NAMING, adopted=())
    assert after is not None
    full = read_dataset(fake, FS, naming=NAMING, adopted=(), written=False)
    assert [(v.name, v.time, v.managed, dict(v.properties)) for v in after.snapshots] == [
        (v.name, v.time, v.managed, dict(v.properties)) for v in full.snapshots
    ]
    assert after.snapshots[-1].createtxg == full.snapshots[-1].createtxg and after.written is None


def test_a_snapshot_someone_else_took_meanwhile_means_read_it_all_again() -> None:
    fake = FakeBackend(pools=("tank",))
    fake.create_filesystem(FS)
    seen = read_dataset(fake, FS, naming=NAMING, adopted=())
    fake.snapshot([FS.snapshot(NEW)], {MANAGED: "yes"})
    fake.snapshot([FS.snapshot("foreign")])
    listing = fake.list_datasets([FS])[FS.full]
    assert after_taking(seen, listing, {FS.snapshot(NEW): {MANAGED: "yes"}}, naming=NAMING, adopted=()) is None
