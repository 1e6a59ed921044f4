"""A tick with remembered listings (zfstm.snapshots.memory): it lists only what changed, decides as a tick that
lists everything, and never destroys a snapshot that changed since it was remembered."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import pytest

from tests.unit.lifecycle.test_isolation import B, two_targets
from tests.unit.lifecycle.test_tick_listing import counting
from tests.unit.lifecycle.world import DATA, World
from zfstm.errors import ZfsError
from zfstm.lifecycle.observe import listing_of
from zfstm.lifecycle.outcome import Failure, TickReport
from zfstm.lifecycle.tick import _run_hold_steps
from zfstm.snapshots.memory import FILE_NAME, Memory
from zfstm.timemachine.knowngood import HoldAction, HoldStep
from zfstm.zfs import DatasetName, HoldTag, ZfsName
from zfstm.zfs.fake import FakeBackend

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def _run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZFSTM_RUN_DIR", str(tmp_path / "run"))


def tick(world: World, memory: Memory | None) -> TickReport:
    return world.tick(memory=memory)


def remember_now(world: World, memory: Memory) -> None:
    """What a tick that changed nothing leaves behind: every dataset remembered as it is now."""
    listing_of(world.backend, world.config, world.config.targets, memory=memory)
    memory.save()
    memory.recalled.clear()
    memory.fresh.clear()


def destroyed(report: TickReport) -> set[str]:
    return {name.full for part in report.destroyed for name in part.destroyed}


def test_a_remembered_dataset_is_not_listed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = two_targets(tmp_path)
    memory = Memory(None, DAY)
    remember_now(world, memory)
    assert set(memory.known) == {DATA.full, B.full}
    calls: Counter[str] = counting(monkeypatch)
    listing_of(world.backend, world.config, world.config.targets, memory=memory)
    assert calls["list_datasets"] == 0  # snapshots_changed stood still on both
    assert set(memory.recalled) == {DATA.full, B.full}


def test_a_dataset_whose_snapshots_changed_is_listed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = two_targets(tmp_path)
    memory = Memory(None, DAY)
    remember_now(world, memory)
    world.backend.snapshot([B.snapshot("by-hand")])
    seen: list[list[str]] = []
    real = FakeBackend.list_datasets

    def spy(self: FakeBackend, datasets: list[DatasetName], *args: object) -> object:
        seen.append([d.full for d in datasets])
        return real(self, datasets, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(FakeBackend, "list_datasets", spy)
    found = listing_of(world.backend, world.config, world.config.targets, memory=memory)
    assert seen == [[B.full]]
    state = found[B.full]
    assert not isinstance(state, Exception)
    assert "by-hand" in {view.name.short for view in state.snapshots}


def test_a_tick_from_memory_decides_as_a_tick_that_lists_everything(tmp_path: Path) -> None:
    remembering, listing = two_targets(tmp_path / "a"), two_targets(tmp_path / "b")
    memory = Memory(None, DAY)
    remember_now(remembering, memory)
    first, second = tick(remembering, memory), tick(listing, None)
    assert first.exit_code == second.exit_code == 0
    assert destroyed(first) == destroyed(second) and destroyed(first)
    assert first.snapshots == second.snapshots
    assert memory.known == {}  # both datasets were acted on: listed again next time


def test_a_snapshot_held_by_hand_since_it_was_remembered_is_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world = two_targets(tmp_path)
    memory = Memory(None, DAY)
    remember_now(world, memory)
    oldest = world.backend.list_snapshots(DATA)[0].name
    world.backend.hold([oldest], HoldTag("admin"))  # snapshots_changed does not move for a hold
    with caplog.at_level(logging.WARNING, "zfstm.lifecycle"):
        report = tick(world, memory)
    assert report.exit_code == 0, report.failures
    assert oldest in {info.name for info in world.backend.list_snapshots(DATA)}
    assert f"{oldest.full}: not destroyed: it changed since zfstm last listed tank/tm" in caplog.text
    assert len(destroyed(report)) > 20  # the others of both targets went as planned
    assert DATA.full not in memory.known


def test_a_property_edited_by_hand_keeps_the_snapshot(tmp_path: Path) -> None:
    world = two_targets(tmp_path)
    memory = Memory(None, DAY)
    remember_now(world, memory)
    oldest = world.backend.list_snapshots(B)[0].name
    world.backend.set_property(oldest, "zfstm:managed", "no")  # the admin takes it away from zfstm
    report = tick(world, memory)
    assert report.exit_code == 0, report.failures
    assert oldest in {info.name for info in world.backend.list_snapshots(B)}


class NoStamp(FakeBackend):
    """A ZFS without snapshots_changed (illumos, OpenZFS < 2.2)."""

    def get_properties(self, name: ZfsName, props: Iterable[str]) -> dict[str, str | None]:
        wanted = list(props)
        if "snapshots_changed" in wanted:
            raise ZfsError("bad property list: invalid property 'snapshots_changed'", operation="get")
        return super().get_properties(name, wanted)


def test_without_snapshots_changed_the_tick_lists_everything(tmp_path: Path) -> None:
    world = two_targets(tmp_path)
    world.backend = NoStamp(world.backend.state, world.backend.pools, clock=world.backend.clock)
    memory = Memory(None, DAY)
    report = tick(world, memory)
    assert report.exit_code == 0, report.failures
    assert destroyed(report)
    assert not memory.usable and memory.known == {}


def test_a_tick_that_acts_without_memory_removes_the_remembered_listings(tmp_path: Path) -> None:
    """`zfstm prune` acts without recalling: no later tick may recall a hold it moved."""
    world = two_targets(tmp_path)
    memory = Memory.load(world.root / "run", DAY)
    assert memory is not None
    remember_now(world, memory)
    path = world.root / "run" / FILE_NAME
    assert path.exists()
    report = world.tick(memory=None)  # prunes both targets
    assert destroyed(report)
    assert not path.exists()


def test_a_hold_step_already_done_is_not_a_failure(tmp_path: Path) -> None:
    """A listing older than a hold (a remembered one) plans a hold that is there, or a release that is done."""
    world = two_targets(tmp_path)
    first, second = (info.name for info in world.backend.list_snapshots(DATA)[:2])
    world.backend.hold([first], HoldTag("zfstm-known-good"))
    failures: list[Failure] = []
    steps = [
        HoldStep(HoldAction.HOLD, first.full, "zfstm-known-good"),
        HoldStep(HoldAction.RELEASE, second.full, "zfstm-known-good"),
    ]
    assert _run_hold_steps(world.backend, "tm", steps, failures)
    assert failures == []


def test_with_nothing_to_recall_the_one_listing_reads_the_stamps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold tick costs what it did without memory: one listing per pool, no separate read of the stamps."""
    world = two_targets(tmp_path)
    memory = Memory(None, DAY)
    calls: Counter[str] = counting(monkeypatch)
    stamps: list[int] = []
    real = FakeBackend.dataset_properties
    monkeypatch.setattr(
        FakeBackend,
        "dataset_properties",
        lambda self, *a: stamps.append(1) or real(self, *a),  # type: ignore[func-returns-value]
    )
    listing_of(world.backend, world.config, world.config.targets, memory=memory)
    assert calls["list_datasets"] == 1 and stamps == []
    assert set(memory.fresh) == {DATA.full, B.full}
