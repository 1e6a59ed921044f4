"""The runner over a fake ZFS, file server and CNID database: swap, discard, undo, failures that reverse, and a
crash at every step boundary followed by --resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest

from tests.unit.rollback.world import CNID, DATA, FakeServer, context, facts_of, make_world
from zfstm.errors import RollbackFailed, ZfsError
from zfstm.rollback.journal import Journal, unfinished_rollbacks
from zfstm.rollback.model import CnidStrategy, Mode, RollbackPlan, RollbackRequest
from zfstm.rollback.planner import plan_rollback
from zfstm.rollback.runner import run
from zfstm.zfs.fake import FakeBackend
from zfstm.zfs.names import DatasetName, HoldTag


class Crash(BaseException):
    """Stands in for os._exit in the fault hook: nothing after it runs, nothing catches it."""


def world_state(backend: FakeBackend) -> dict[str, Any]:
    """Everything a rollback may change: contents, snapshots, origins and props of every dataset."""
    out: dict[str, Any] = {}
    for name, ds in sorted(backend.state.datasets.items()):
        out[name] = (ds.data, tuple(ds.snapshots), ds.origin.full if ds.origin else None, dict(ds.props))
    return out


def start(tmp_path: Path, backend: FakeBackend, request: RollbackRequest) -> tuple[Journal, RollbackPlan]:
    plan = plan_rollback(facts_of(backend), request)
    return Journal.create(tmp_path, plan, "run1"), plan


def test_swap_rolls_back_keeps_newer_snapshots_and_raises_the_counter(tmp_path: Path) -> None:
    """After a paired swap the share holds the snapshot's data, the old dataset keeps the newer snapshots and the
    broken state, local props are copied, the counter is back at its pre-rollback value, the server runs."""
    backend = make_world(local_mountpoint=True)
    journal, plan = start(tmp_path, backend, RollbackRequest("tm", last_good=True))
    ctx, server, cnid = context(backend)
    outcome = run(journal, ctx)
    assert outcome.status == "done"
    kept = DatasetName(plan.kept_as or "")
    assert backend.read_contents(DATA) == "data-s1"
    assert backend.read_contents(kept) == "broken"
    assert [i.name.short for i in backend.list_snapshots(DATA)] == ["s1"]
    assert [i.name.short for i in backend.list_snapshots(kept)] == ["s2", "s3"]
    assert backend.holds(DATA.snapshot("s1")).keys() == {"zfstm-known-good"}
    assert backend.holds(kept.snapshot("s3")).keys() == {"backup-keep"}
    props = backend.get_properties(
        DATA, ["compression", "refquota", "mountpoint", "zfstm:note", "zfstm:rollback-before"]
    )
    assert props == {"compression": "lz4", "refquota": "1073741824", "mountpoint": "/srv/tm",
                     "zfstm:note": "tm share", "zfstm:rollback-before": kept.full}  # fmt: skip
    assert backend.get_properties(kept, ["mountpoint"])["mountpoint"] == "/srv/tm.before-rollback-20261128T030000Z"
    assert backend.read_contents(CNID) == "counter=350"  # rolled back to 100, raised to the 350 read before
    assert cnid.log == ["prepare /tank/cnid/tm/.AppleDB repoint=False", "raise 100->350"]
    assert server.log == ["stop", "start"] and server.running
    assert unfinished_rollbacks(tmp_path) == []
    assert Path(outcome.journal).name.endswith(".jsonl.done")


def test_undo_swaps_back_and_keeps_the_rolled_back_state(tmp_path: Path) -> None:
    """--undo after a swap gives the dataset its pre-rollback contents and snapshots again; counter never drops."""
    backend = make_world()
    before = world_state(backend)
    journal, _ = start(tmp_path, backend, RollbackRequest("tm", last_good=True))
    ctx, _, _ = context(backend)
    run(journal, ctx)
    backend.write_contents(DATA, "written after the rollback")
    backend.write_contents(CNID, "counter=400")
    plan = plan_rollback(facts_of(backend), RollbackRequest("tm", mode=Mode.UNDO))
    run(Journal.create(tmp_path, plan, "run2"), ctx)
    assert backend.read_contents(DATA) == "broken"
    assert [i.name.short for i in backend.list_snapshots(DATA)] == ["s1", "s2", "s3"]
    assert backend.read_contents(DatasetName(plan.kept_as or "")) == "written after the rollback"
    assert backend.read_contents(CNID) == "counter=400"
    assert world_state(backend)["tank/tm"][1] == before["tank/tm"][1]


def test_discard_newer_destroys_newer_snapshots_in_place(tmp_path: Path) -> None:
    """--discard-newer rolls back in place after destroying the newer snapshots; nothing is kept."""
    backend = make_world()
    backend.release([DATA.snapshot("s3")], HoldTag("backup-keep"))
    journal, _ = start(tmp_path, backend, RollbackRequest("tm", to="s2", mode=Mode.DISCARD))
    ctx, _, cnid = context(backend)
    run(journal, ctx)
    assert backend.read_contents(DATA) == "data-s2"
    assert [i.name.short for i in backend.list_snapshots(DATA)] == ["s1", "s2"]
    assert backend.read_contents(CNID) == "counter=350"
    assert cnid.log == ["prepare /tank/cnid/tm/.AppleDB repoint=False", "raise 200->350"]


class FlakyRenames:
    """The fake backend, except that its ``fail_on``-th rename raises DatasetBusy-like ZfsError."""

    def __init__(self, backend: FakeBackend, fail_on: int) -> None:
        self._backend = backend
        self._fail_on = fail_on
        self._calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def rename(self, old: Any, new: Any) -> None:
        self._calls += 1
        if self._calls == self._fail_on:
            raise ZfsError("dataset is busy", dataset=str(old), operation="rename")
        self._backend.rename(old, new)


def test_failure_before_the_point_of_no_return_reverses_everything(tmp_path: Path) -> None:
    """A ZFS failure in the middle of the swap reverses the completed steps: same datasets, server running."""
    backend = make_world()
    before = world_state(backend)
    journal, _ = start(tmp_path, backend, RollbackRequest("tm", last_good=True))
    ctx, server, _ = context(backend)
    ctx = attrs.evolve(ctx, backend=FlakyRenames(backend, fail_on=3))  # retire-cnid fails
    with pytest.raises(RollbackFailed) as failed:
        run(journal, ctx)
    assert failed.value.reversed and failed.value.exit_code == 12
    assert world_state(backend) == before
    assert server.running and server.log[0] == "stop" and server.log[-1] == "start"
    assert unfinished_rollbacks(tmp_path) == []


def test_failure_after_restart_leaves_journal_open_and_server_running(tmp_path: Path) -> None:
    """When the server fails to answer after the swap, nothing is reversed; the journal stays open for --resume."""
    backend = make_world()
    journal, _ = start(tmp_path, backend, RollbackRequest("tm", last_good=True))
    ctx, server, _ = context(backend, FakeServer(fail_start=True))
    with pytest.raises(RollbackFailed) as failed:
        run(journal, ctx)
    assert not failed.value.reversed
    assert [u.failed for u in unfinished_rollbacks(tmp_path)] == ["start-server"]
    server.fail_start = False
    resumed = Journal.open(tmp_path, "tm")
    assert resumed is not None
    assert run(resumed, ctx).status == "done"
    assert backend.read_contents(DATA) == "data-s1"


def _clean_final_state(tmp_path: Path, request: RollbackRequest) -> dict[str, Any]:
    backend = make_world()
    journal, _ = start(tmp_path / "clean", backend, request)
    ctx, _, _ = context(backend)
    run(journal, ctx)
    return world_state(backend)


REQUESTS = {
    "swap": RollbackRequest("tm", last_good=True),
    "rebuild": RollbackRequest("tm", to="s3"),
    "rescan": RollbackRequest("tm", to="s3", strategy=CnidStrategy.RESCAN),
    "reset": RollbackRequest("tm", last_good=True, strategy=CnidStrategy.RESET),
    "discard": RollbackRequest("tm", to="s1", mode=Mode.DISCARD),
}


@pytest.mark.parametrize("kind", sorted(REQUESTS))
def test_crash_at_every_step_boundary_then_resume_reaches_the_same_end(tmp_path: Path, kind: str) -> None:
    """Killing the rollback right after any step's before or after record, then --resume, ends exactly where an
    uninterrupted rollback ends, with the server running and no unfinished journal."""
    request = REQUESTS[kind]

    def world() -> FakeBackend:
        backend = make_world()
        if kind == "discard":
            backend.release([DATA.snapshot("s3")], HoldTag("backup-keep"))
        return backend

    clean_backend = world()
    journal, plan = start(tmp_path / "clean", clean_backend, request)
    run(journal, context(clean_backend)[0])
    expected = world_state(clean_backend)
    for step in plan.steps:
        for phase in ("before", "after"):
            backend = world()
            directory = tmp_path / f"{step.id}-{phase}"
            journal, _ = start(directory, backend, request)
            ctx, server, _ = context(backend)

            def fault(step_id: str, at: str, target: str = step.id, when: str = phase) -> None:
                if (step_id, at) == (target, when):
                    raise Crash

            with pytest.raises(Crash):
                run(journal, ctx, fault=fault)
            assert [u.target for u in unfinished_rollbacks(directory)] == ["tm"]
            resumed = Journal.open(directory, "tm")
            assert resumed is not None
            assert run(resumed, ctx).status == "done", (step.id, phase)
            assert world_state(backend) == expected, (step.id, phase)
            assert server.running
            assert unfinished_rollbacks(directory) == []


def test_abort_reverses_a_crashed_swap(tmp_path: Path) -> None:
    """--resume --abort after a crash in the middle of the swap puts every dataset back and starts the server."""
    backend = make_world()
    before = world_state(backend)
    journal, _ = start(tmp_path, backend, RollbackRequest("tm", last_good=True))
    ctx, server, _ = context(backend)

    def fault(step_id: str, at: str) -> None:
        if (step_id, at) == ("promote-cnid", "before"):
            raise Crash

    with pytest.raises(Crash):
        run(journal, ctx, fault=fault)
    resumed = Journal.open(tmp_path, "tm")
    assert resumed is not None
    with pytest.raises(RollbackFailed) as failed:
        run(resumed, ctx, abort=True)
    assert failed.value.reversed
    assert world_state(backend) == before
    assert server.running


def test_verify_failure_is_past_the_point_of_no_return(tmp_path: Path) -> None:
    """A failed verification (the share is not where it should be) is not reversed: the rolled-back data may already
    be served; the journal stays open and the server keeps running."""
    backend = make_world()
    journal, _ = start(tmp_path, backend, RollbackRequest("tm", last_good=True))
    ctx, server, _ = context(backend)
    ctx = attrs.evolve(ctx, is_dir=lambda _p: False)
    with pytest.raises(RollbackFailed) as failed:
        run(journal, ctx)
    assert not failed.value.reversed and server.running
    assert backend.read_contents(DATA) == "data-s1"
    assert [u.failed for u in unfinished_rollbacks(tmp_path)] == ["verify"]


def test_every_record_is_stamped_and_each_step_says_how_long_it_took(tmp_path: Path) -> None:
    """The journal tells when each step ran and how long it took; the echo says it too."""
    import json
    from datetime import datetime

    backend = make_world()
    journal, plan = start(tmp_path, backend, RollbackRequest("tm", last_good=True))
    ctx, _server, _cnid = context(backend)
    said: list[str] = []
    outcome = run(journal, ctx, echo=said.append)
    records = [json.loads(line) for line in Path(outcome.journal).read_text().splitlines()]
    stamps = [datetime.fromisoformat(r["at"]) for r in records]
    assert stamps == sorted(stamps) and all(s.utcoffset() is not None and not s.utcoffset() for s in stamps)
    after = [r for r in records if r["event"] == "after"]
    assert [r["step"] for r in after] == [s.id for s in plan.steps]
    assert all(isinstance(r["seconds"], float) and r["seconds"] >= 0 for r in after)
    assert [line for line in said if " done in " in line] == [
        f"[{s.id}] done in {r['seconds']:.1f} s" for s, r in zip(plan.steps, after, strict=True)
    ]
