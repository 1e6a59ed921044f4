"""A small world for rollback tests: a fake ZFS with a share and its CNID dataset, a fake file server and fake CNID
operations that model the counter, plus builders for facts (test helper, not shipped)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs

from zfstm.config.model import FileServerKind
from zfstm.errors import FileServerError
from zfstm.rollback.execute import Context
from zfstm.rollback.facts import dataset_facts
from zfstm.rollback.model import CnidFacts, RollbackFacts
from zfstm.snapshots.tags import KNOWN_GOOD_HOLD
from zfstm.zfs.fake import FakeBackend
from zfstm.zfs.names import DatasetName, HoldTag

DATA = DatasetName("tank/tm")
CNID = DatasetName("tank/cnid")
DB_DIR = "/tank/cnid/tm/.AppleDB"
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


@attrs.define
class FakeServer:
    """Records stops and starts; ``fail_start`` makes start raise."""

    log: list[str] = attrs.field(factory=list)
    running: bool = True
    fail_start: bool = False

    @property
    def name(self) -> str:
        return "netatalk.service"

    def stop(self) -> None:
        self.log.append("stop")
        self.running = False

    def start(self) -> None:
        self.log.append("start")
        if self.fail_start:
            raise FileServerError("netatalk.service does not answer")
        self.running = True

    def is_running(self) -> bool:
        return self.running


@attrs.define
class FakeCnid:
    """The counter lives in the CNID dataset's modelled contents as ``counter=N``, so rollbacks move it too."""

    backend: FakeBackend
    log: list[str] = attrs.field(factory=list)

    def _counter(self) -> int:
        return int(self.backend.read_contents(CNID).split("=")[1])

    def read_counter(self, db_dir: str) -> int | None:
        assert db_dir == DB_DIR
        return self._counter()

    def raise_counter(self, db_dir: str, minimum: int, share: str | None) -> tuple[int, int, int]:
        before = self._counter()
        after = max(before, minimum)
        self.backend.write_contents(CNID, f"counter={after}")
        self.log.append(f"raise {before}->{after}")
        return before, after, 0

    def reset(self, db_dir: str) -> list[str]:
        self.backend.write_contents(CNID, "counter=16")
        self.log.append("reset")
        return ["cnid2.db"]

    def rescan(self, path: str) -> None:
        self.log.append(f"rescan {path}")

    def rebuild(self, db_dir: str, share: str, *, mark: int, cnid_dev: bool, hints: bool) -> dict[str, Any]:
        """Idempotent like the real one: the counter ends at the mark or above, whatever ran before."""
        assert db_dir == DB_DIR
        before = self._counter()
        after = max(before, mark)
        self.backend.write_contents(CNID, f"counter={after}")
        self.log.append(f"rebuild {share} {before}->{after} hints={hints}")
        return {"mark": mark, "counter": after}

    def require_quiet(self, db_dir: str) -> None:
        pass

    def prepare(self, db_dir: str, *, repoint: bool) -> None:
        self.log.append(f"prepare {db_dir} repoint={repoint}")

    def settle(self) -> None:
        pass


def make_world(*, local_mountpoint: bool = False) -> FakeBackend:
    """tank/tm and tank/cnid with snapshots s1 (paired, known-good), s2 (paired), s3 (data only, held)."""
    backend = FakeBackend(clock=lambda: NOW)
    props = {"compression": "lz4", "refquota": "1073741824", "zfstm:note": "tm share"}
    if local_mountpoint:
        props["mountpoint"] = "/srv/tm"
    backend.create_filesystem(DATA, props)
    backend.create_filesystem(CNID)
    for step, short in enumerate(("s1", "s2"), 1):
        backend.write_contents(DATA, f"data-{short}")
        backend.write_contents(CNID, f"counter={100 * step}")
        backend.snapshot([DATA.snapshot(short), CNID.snapshot(short)])
    backend.write_contents(DATA, "data-s3")
    backend.snapshot([DATA.snapshot("s3")])
    backend.write_contents(DATA, "broken")
    backend.write_contents(CNID, "counter=350")
    backend.hold([DATA.snapshot("s1")], HoldTag(KNOWN_GOOD_HOLD))
    backend.hold([DATA.snapshot("s3")], HoldTag("backup-keep"))
    return backend


def facts_of(
    backend: FakeBackend, *, server: str = "netatalk", cnid_dev: bool = False, **changes: object
) -> RollbackFacts:
    data = dataset_facts(backend, DATA)
    cds = dataset_facts(backend, CNID) if backend.exists(CNID) else None
    before = None
    if data.rollback_before and backend.exists(DatasetName(data.rollback_before)):
        before = dataset_facts(backend, DatasetName(data.rollback_before))
    cnid_before = None
    if cds and cds.rollback_before and backend.exists(DatasetName(cds.rollback_before)):
        cnid_before = dataset_facts(backend, DatasetName(cds.rollback_before))
    facts = RollbackFacts(
        target="tm",
        server=FileServerKind(server),
        server_name="netatalk.service" if server == "netatalk" else f"{server}.service",
        data=data,
        cnid_dataset=cds,
        cnid=CnidFacts(volume="tm", db_dir=DB_DIR, cnid_dev=cnid_dev) if server == "netatalk" else None,
        known_good=tuple(s for s, tags in data.holds.items() if KNOWN_GOOD_HOLD in tags),
        stamp=NOW.strftime("%Y%m%dT%H%M%SZ"),
        before=before,
        cnid_before=cnid_before,
    )
    return attrs.evolve(facts, **changes)  # type: ignore[arg-type]


def context(backend: FakeBackend, server: FakeServer | None = None) -> tuple[Context, FakeServer, FakeCnid]:
    srv = server or FakeServer()
    cnid = FakeCnid(backend)
    return Context(backend=backend, server=srv, cnid=cnid, db_dir=DB_DIR, is_dir=lambda _p: True), srv, cnid
