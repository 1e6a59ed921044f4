"""`zfstm prune` over the fake backend: dry run, batched destroy, late holds (exit 3), refusals (exit 4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from zfstm.cli import prune as prune_cli
from zfstm.cli.main import main
from zfstm.naming import DEFAULT_SCHEME
from zfstm.zfs import DatasetName, DestroyOutcome, DestroyReport, DestroyResult, HoldTag, SnapshotName
from zfstm.zfs.fake import FakeBackend

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DATASET = DatasetName("tank/tm")


class LateHold:
    """The fake, with a hold placed on one snapshot between the listing and the destroy."""

    def __init__(self, inner: FakeBackend, victim: SnapshotName) -> None:
        self.inner = inner
        self.victim = victim

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def destroy_snapshots(self, names: object) -> object:
        self.inner.hold([self.victim], HoldTag("late"))
        return self.inner.destroy_snapshots(names)  # type: ignore[arg-type]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeBackend:
    """tank/tm with 20 managed snapshots ten minutes apart, plus a foreign one; the verb's backend is it. No
    configuration file: the dataset is pruned with the defaults and the flags; locks and state under tmp_path."""
    monkeypatch.delenv("ZFSTM_CONFIG", raising=False)
    monkeypatch.setenv("ZFSTM_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("ZFSTM_STATE_DIR", str(tmp_path / "state"))
    backend = FakeBackend(clock=lambda: NOW)
    backend.create_filesystem(DATASET)
    for index in range(20):
        time = NOW - timedelta(minutes=10 * (20 - index))
        backend.snapshot([DATASET.snapshot(DEFAULT_SCHEME.format(time))], {"zfstm:managed": "yes"})
    backend.snapshot([DATASET.snapshot("mine")])
    monkeypatch.setattr(prune_cli, "backend_for", lambda config, args=None: backend)
    return backend


def names(backend: FakeBackend) -> set[str]:
    return {info.name.short for info in backend.list_snapshots(DATASET)}


def test_dry_run_changes_nothing(fake: FakeBackend, capsys: pytest.CaptureFixture[str]) -> None:
    """--dry-run prints the plan and the space estimate and destroys nothing."""
    before = names(fake)
    assert main(["prune", "tank/tm", "--now", "2026-11-28T12:00:00Z", "--dry-run", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["dry_run"] is True
    assert document["reclaim"] == {"bytes": 0, "method": "sum of used (lower bound)", "exact": False}
    assert names(fake) == before
    assert main(["prune", "tank/tm", "--now", "2026-11-28T12:00:00Z", "--dry-run"]) == 0
    assert "dry run: would free at least 0 B" in capsys.readouterr().out


def test_breaker_then_force(fake: FakeBackend, capsys: pytest.CaptureFixture[str]) -> None:
    """Destroying 17 of 21 trips the breaker (exit 4, nothing gone); --force prunes to the plan."""
    before = names(fake)
    assert main(["prune", "tank/tm", "--now", "2026-11-28T12:00:00Z"]) == 4
    assert "more than the 50% limit" in capsys.readouterr().err
    assert names(fake) == before
    assert main(["prune", "tank/tm", "--now", "2026-11-28T12:00:00Z", "--force", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    kept = {entry["name"].partition("@")[2] for entry in document["keep"]}
    assert names(fake) == kept
    assert "mine" in kept
    assert len(document["result"]["destroyed"]) == len(document["destroy"])


def test_clock_skew_exit_4_even_forced(fake: FakeBackend, capsys: pytest.CaptureFixture[str]) -> None:
    """A clock earlier than the snapshots' names refuses with exit 4, --force or not."""
    before = names(fake)
    assert main(["prune", "tank/tm", "--now", "2026-11-28T10:00:00Z", "--force"]) == 4
    assert "clock" in capsys.readouterr().err
    assert names(fake) == before


def test_late_hold_is_reported_and_the_rest_go(
    fake: FakeBackend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hold placed after the listing: that name is refused (exit 3), every other planned destroy happens."""
    victim = DATASET.snapshot(DEFAULT_SCHEME.format(NOW - timedelta(minutes=200)))
    monkeypatch.setattr(prune_cli, "backend_for", lambda config, args=None: LateHold(fake, victim))
    code = main(["prune", "tank/tm", "--now", "2026-11-28T12:00:00Z", "--force"])
    captured = capsys.readouterr()
    assert code == 3
    assert f"refused {victim.full}: held" in captured.out
    assert "were refused by ZFS" in captured.err
    assert victim.short in names(fake)
    assert len(names(fake)) == 1 + 4 + 1  # victim, the kept ones (3 hourly + newest), the foreign one


class KilledDestroy:
    """The fake, as the CLI backend reports a `zfs destroy` killed before it acted: every name FAILED."""

    def __init__(self, inner: FakeBackend) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def destroy_snapshots(self, names: object) -> DestroyReport:
        message = "zfs was killed by SIGKILL; it may or may not have acted"
        return DestroyReport.of(DestroyResult(n, DestroyOutcome.FAILED, message) for n in names)  # type: ignore[attr-defined]


def test_a_killed_zfs_is_not_blamed_on_holds(
    fake: FakeBackend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The names a killed `zfs destroy` left are reported with that reason (exit 3), and the hint does not send the
    administrator looking for holds or clones that are not there (seen in the testbed's killed-zfs fault)."""
    monkeypatch.setattr(prune_cli, "backend_for", lambda config, args=None: KilledDestroy(fake))
    code = main(["prune", "tank/tm", "--now", "2026-11-28T12:00:00Z", "--force"])
    captured = capsys.readouterr()
    assert code == 3
    assert "failed: zfs was killed by SIGKILL" in captured.out
    assert "still there (see above for each one's reason)" in captured.err
    assert "were refused by ZFS" not in captured.err
