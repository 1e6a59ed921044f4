"""The retention shell over the fake backend: reading snapshots, applying a plan, refusals, reclaim estimates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from zfstm.command import Completed
from zfstm.errors import CircuitBreakerError, SnapshotCloned, ZfsError
from zfstm.naming import DEFAULT_SCHEME, legacy_scheme
from zfstm.retention import KNOWN_GOOD_HOLD, MANAGED_PROPERTY, Policy, plan
from zfstm.retention.apply import SpaceEstimate, apply_plan, estimate_reclaim, read_snapshots
from zfstm.retention.snapshots import STANDS_UNTIL_PROPERTY
from zfstm.zfs import CommandPrefix, DatasetName, DestroyOutcome, HoldTag, SnapshotName
from zfstm.zfs.cli import CliBackend
from zfstm.zfs.fake import FakeBackend

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DATASET = DatasetName("tank/tm")


@pytest.fixture
def backend() -> FakeBackend:
    """tank/tm with 12 hourly managed snapshots, a foreign one and a legacy-named one."""
    fake = FakeBackend(clock=lambda: NOW)
    fake.create_filesystem(DATASET)
    for hours in range(12, 0, -1):
        name = DATASET.snapshot(DEFAULT_SCHEME.format(NOW - timedelta(hours=hours, minutes=30)))
        fake.snapshot([name], {MANAGED_PROPERTY: "yes"})
    fake.snapshot([DATASET.snapshot("manual")])
    fake.snapshot([DATASET.snapshot("20261128_0915")])
    return fake


def test_read_snapshots_classifies(backend: FakeBackend) -> None:
    """Managed by property or adopted scheme; time from the name when it encodes one; holds from ZFS."""
    backend.hold([DATASET.snapshot(DEFAULT_SCHEME.format(NOW - timedelta(hours=12, minutes=30)))], HoldTag("x"))
    listing = read_snapshots(backend, DATASET)
    by_name = {s.short_name: s for s in listing.snapshots}
    assert by_name["manual"].managed is False
    assert by_name["20261128_0915"].managed is False
    assert by_name["zfstm-20261127T233000Z"].time == datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    assert by_name["zfstm-20261127T233000Z"].holds == frozenset({"x"})
    adopted = read_snapshots(backend, DATASET, adopted=[legacy_scheme("Europe/Berlin")])
    legacy = next(s for s in adopted.snapshots if s.short_name == "20261128_0915")
    assert legacy.managed is True
    assert legacy.time == datetime(2026, 11, 28, 8, 15, tzinfo=UTC)


def test_read_snapshots_places_a_standing_snapshot_at_its_stands_until_time(backend: FakeBackend) -> None:
    """As `zfstm run` does: under pick = last a snapshot that stood for skipped empty ones sits at stands-until."""
    oldest = DATASET.snapshot(DEFAULT_SCHEME.format(NOW - timedelta(hours=12, minutes=30)))
    backend.set_property(oldest, STANDS_UNTIL_PROPERTY, "2026-11-28T03:00:00Z")
    moved = {s.short_name: s.time for s in read_snapshots(backend, DATASET).snapshots}
    assert moved[oldest.short] == datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    kept = {s.short_name: s.time for s in read_snapshots(backend, DATASET, pick_last=False).snapshots}
    assert kept[oldest.short] == NOW - timedelta(hours=12, minutes=30)


def test_apply_destroys_the_plan_and_reports_late_holds(backend: FakeBackend) -> None:
    """Everything planned is destroyed in one call, except a name held after the listing, which is reported."""
    listing = read_snapshots(backend, DATASET)
    policy = Policy(tiers=(), min_keep=2, max_destroy_share=1.0)
    the_plan = plan(listing.snapshots, NOW, policy, dataset=DATASET.full)
    late = the_plan.destroy[0].name
    backend.hold([DATASET.snapshot(late.partition("@")[2])], HoldTag(KNOWN_GOOD_HOLD))
    report = apply_plan(the_plan, backend)
    assert [(r.name.full, r.outcome) for r in report.refused] == [(late, DestroyOutcome.HELD)]
    remaining = {info.name.full for info in backend.list_snapshots(DATASET)}
    assert remaining == {d.name for d in the_plan.keep} | {late}


def test_apply_checks_safety_first(backend: FakeBackend) -> None:
    """A plan the breaker refuses destroys nothing."""
    listing = read_snapshots(backend, DATASET)
    the_plan = plan(listing.snapshots, NOW, Policy(tiers=(), breaker_min=1), dataset=DATASET.full)
    before = backend.list_snapshots(DATASET)
    with pytest.raises(CircuitBreakerError):
        apply_plan(the_plan, backend)
    assert backend.list_snapshots(DATASET) == before


def test_empty_plan_calls_nothing(backend: FakeBackend) -> None:
    """Nothing to destroy: an empty report."""
    the_plan = plan(read_snapshots(backend, DATASET).snapshots, NOW, Policy(tiers=(), min_keep=100))
    assert apply_plan(the_plan, backend).results == ()


@attrs.define
class Recorder:
    stdout: str
    returncode: int = 0
    calls: list[list[str]] = attrs.Factory(list)

    def __call__(self, argv: Sequence[str], *, timeout: float | None = None) -> Completed:
        self.calls.append(list(argv))
        return Completed(tuple(argv), self.returncode, self.stdout, "")


@attrs.define
class Reclaiming(FakeBackend):
    """The fake with a scripted reclaimable_space: a figure, None, or a refusal to raise."""

    answer: int | ZfsError | None = None
    asked: list[list[SnapshotName]] = attrs.Factory(list)

    def reclaimable_space(self, snapshots: Sequence[SnapshotName]) -> int | None:
        self.asked.append(list(snapshots))
        if isinstance(self.answer, ZfsError):
            raise self.answer
        return self.answer


def test_reclaim_is_exact_when_the_backend_can_tell() -> None:
    """The backend's reclaimable_space figure, for all names in one question, is the exact estimate."""
    backend = Reclaiming(answer=3145728)
    estimate = estimate_reclaim(backend, ["tank/tm@a", "tank/db@b"], {"tank/tm@a": 1, "tank/db@b": 2})
    assert (estimate.bytes, estimate.method, estimate.exact) == (3145728, "zfs destroy -nvp", True)
    assert backend.asked == [[SnapshotName.parse("tank/tm@a"), SnapshotName.parse("tank/db@b")]]


def test_reclaim_uses_zfs_dry_run_through_the_backend_prefix() -> None:
    """The CLI backend's dry run `zfs destroy -nvp fs@a,b` gives the exact figure; argv goes through its prefix."""
    runner = Recorder("destroy\ttank/tm@a\ndestroy\ttank/tm@b\nreclaim\t3145728\n")
    backend = CliBackend(CommandPrefix.exec_list("runuser", "-u", "zfstm", "--"), runner=runner)
    estimate = estimate_reclaim(backend, ["tank/tm@a", "tank/tm@b"], {"tank/tm@a": 1, "tank/tm@b": 2})
    assert (estimate.bytes, estimate.method, estimate.exact) == (3145728, "zfs destroy -nvp", True)
    assert runner.calls == [["runuser", "-u", "zfstm", "--", "zfs", "destroy", "-nvp", "tank/tm@a,b"]]


def test_reclaim_falls_back_to_a_lower_bound() -> None:
    """When ZFS cannot tell (fake backend, refused dry run) the sum of `used` is reported as a lower bound."""
    used = {"tank/tm@a": 100, "tank/tm@b": 50}
    fake = estimate_reclaim(FakeBackend(), ["tank/tm@a", "tank/tm@b"], used)
    assert (fake.bytes, fake.exact) == (150, False)
    refused = estimate_reclaim(CliBackend(runner=Recorder("", returncode=1)), ["tank/tm@a"], used)
    assert (refused.bytes, refused.method) == (100, "sum of used (lower bound)")
    cloned = Reclaiming(answer=SnapshotCloned("snapshot has dependent clones", dataset="tank/tm@a"))
    assert estimate_reclaim(cloned, ["tank/tm@a"], used) == SpaceEstimate(100, "sum of used (lower bound)", False)
    empty = Reclaiming(answer=0)
    assert estimate_reclaim(empty, [], used) == SpaceEstimate(0, "sum of used (lower bound)", False)
    assert empty.asked == []
