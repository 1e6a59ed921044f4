"""The retention planner and `zfstm prune` on a real dataset in the testbed, with holds and foreign snapshots.

Snapshot names carry their (simulated) times in zfstm's scheme, so a fixed ``--now`` gives a deterministic plan on
real ZFS; every assertion is about what ZFS really holds afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from zfstm.cli import main as cli_main
from zfstm.cli import prune as prune_cli
from zfstm.naming import DEFAULT_SCHEME
from zfstm.retention import KNOWN_GOOD_HOLD, MANAGED_PROPERTY, Policy, plan
from zfstm.retention.apply import apply_plan, read_snapshots
from zfstm.zfs import DatasetName, DestroyOutcome, HoldTag, SnapshotName, open_backend

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-28T12:00:00Z"


def zfs(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["zfs", *args], capture_output=True, text=True, check=check, env={**os.environ, "LC_ALL": "C"}
    )


def present(fs: str) -> set[str]:
    out = zfs("list", "-H", "-o", "name", "-t", "snapshot", "-d", "1", fs).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def zfstm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zfstm.cli.main", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def fs() -> Iterator[str]:
    """A dataset with 3 days of 2-hourly managed snapshots (1 MiB written and removed between them), a foreign
    snapshot, an unadopted legacy-named one, a user-held one and the known-good one."""
    name = f"tank/retention-{uuid.uuid4().hex[:8]}"
    zfs("create", name)
    backend = open_backend()
    dataset = DatasetName(name)
    mountpoint = Path(zfs("get", "-H", "-o", "value", "mountpoint", name).stdout.strip())
    time = NOW - timedelta(days=3)
    index = 0
    while time <= NOW - timedelta(minutes=5):
        payload = mountpoint / f"f{index}"
        payload.write_bytes(os.urandom(1 << 20))
        backend.snapshot([dataset.snapshot(DEFAULT_SCHEME.format(time))], {MANAGED_PROPERTY: "yes"})
        payload.unlink()
        time += timedelta(hours=2, minutes=1)
        index += 1
    zfs("snapshot", f"{name}@manual-before-upgrade")
    zfs("snapshot", f"{name}@20261127_0915_pre")
    yield name
    for snap in present(name):
        for line in zfs("holds", "-H", snap, check=False).stdout.splitlines():
            zfs("release", line.split("\t")[1], snap, check=False)
    zfs("destroy", "-R", "-f", name, check=False)


def managed_names(fs: str) -> list[str]:
    return sorted(name for name in present(fs) if "@zfstm-" in name)


def test_prune_leaves_exactly_the_plan_and_never_held_foreign_or_newest(fs: str) -> None:
    """After `zfstm prune --force`, ZFS holds exactly the planned keepers; held, foreign and newest survive."""
    names = managed_names(fs)
    user_held, known_good, newest = names[3], names[5], names[-1]
    zfs("hold", "keep-me", user_held)
    zfs("hold", KNOWN_GOOD_HOLD, known_good)
    done = zfstm("plan", fs, "--now", NOW_TEXT, "--json")
    assert done.returncode == 0, done.stderr
    planned = json.loads(done.stdout)
    keep = {entry["name"] for entry in planned["keep"]}
    destroy = {entry["name"] for entry in planned["destroy"]}
    assert destroy, "the fixture must give the plan something to destroy"
    pruned = zfstm("prune", fs, "--now", NOW_TEXT, "--force", "--json")
    assert pruned.returncode == 0, pruned.stderr
    after = present(fs)
    assert after == keep
    assert not (after & destroy)
    for survivor in (user_held, known_good, newest, f"{fs}@manual-before-upgrade", f"{fs}@20261127_0915_pre"):
        assert survivor in after
    reasons = {entry["name"]: entry["reasons"] for entry in planned["keep"]}
    assert "held: keep-me" in reasons[user_held]
    assert "known-good" in reasons[known_good]
    assert reasons[f"{fs}@manual-before-upgrade"] == ["foreign"]
    assert "newest" in reasons[newest]


def test_second_prune_destroys_nothing(fs: str) -> None:
    """Pruning is idempotent on real ZFS: a second run at the same time finds nothing to destroy."""
    assert zfstm("prune", fs, "--now", NOW_TEXT, "--force").returncode == 0
    before = present(fs)
    again = zfstm("prune", fs, "--now", NOW_TEXT, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["destroy"] == []
    assert present(fs) == before


def test_adopted_legacy_names_are_managed(fs: str) -> None:
    """With --adopt-legacy the seed-era snapshot becomes a candidate, read in its zone; foreign ones stay."""
    done = zfstm("plan", fs, "--now", NOW_TEXT, "--json", "--adopt-legacy", "Europe/Berlin")
    planned = json.loads(done.stdout)
    legacy = next(e for e in planned["keep"] + planned["destroy"] if e["name"].endswith("@20261127_0915_pre"))
    assert legacy["managed"] is True
    assert legacy["time"] == "2026-11-27T08:15:00Z"


def test_dry_run_reports_exact_reclaim_and_changes_nothing(fs: str) -> None:
    """--dry-run prints the plan and ZFS's own reclaim figure (zfs destroy -nvp) and destroys nothing."""
    before = present(fs)
    done = zfstm("prune", fs, "--now", NOW_TEXT, "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["dry_run"] is True
    assert document["reclaim"]["method"] == "zfs destroy -nvp"
    assert document["reclaim"]["bytes"] >= len(document["destroy"]) * (1 << 20)
    assert present(fs) == before


def test_refuses_on_clock_skew_and_circuit_breaker(fs: str) -> None:
    """A clock before the newest snapshot exits 4 even with --force; the breaker exits 4 without --force."""
    before = present(fs)
    skewed = zfstm("prune", fs, "--now", "2026-11-26T00:00:00Z", "--force")
    assert skewed.returncode == 4
    assert "clock" in skewed.stderr
    breaker = zfstm("prune", fs, "--now", NOW_TEXT)
    assert breaker.returncode == 4
    assert "--force" in breaker.stderr
    assert present(fs) == before


class StaleHolds:
    """The real backend, except that it reports no holds: as if the listing happened before a hold was placed."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def holds(self, snapshot: SnapshotName) -> dict[str, datetime]:
        return {}

    def holds_of(self, snapshots: Sequence[SnapshotName]) -> dict[SnapshotName, dict[str, datetime]]:
        return {snapshot: {} for snapshot in snapshots}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_hold_placed_meanwhile_is_reported_and_the_rest_still_go(
    fs: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A snapshot held after the listing is refused by ZFS (exit 3) while every other planned destroy happens."""
    backend = open_backend()
    dataset = DatasetName(fs)
    listing = read_snapshots(backend, dataset)
    the_plan = plan(listing.snapshots, NOW, Policy(max_destroy_share=1.0))
    victim = the_plan.destroy_names[0]
    zfs("hold", "late", victim)
    report = apply_plan(the_plan, backend)
    refused = {result.name.full: result.outcome for result in report.refused}
    assert refused == {victim: DestroyOutcome.HELD}
    after = present(fs)
    assert victim in after
    assert not (set(the_plan.destroy_names) - {victim}) & after

    # The same through the command: exit code 3 (PartialFailure), the hold unseen by a stale listing.
    later = NOW + timedelta(days=400)
    stale = StaleHolds(backend)
    target = plan(read_snapshots(stale, dataset).snapshots, later, Policy()).destroy_names[0]
    backend.hold([SnapshotName.parse(target)], HoldTag("late-too"))
    monkeypatch.setattr(prune_cli, "backend_for", lambda config, args=None: stale)
    code = cli_main.main(["prune", fs, "--now", later.isoformat(), "--force"])
    out = capsys.readouterr().out
    assert code == 3
    assert f"refused {target}: held" in out
    assert target in present(fs)


def test_a_tick_from_remembered_listings_keeps_what_was_held_by_hand_since(fs: str, tmp_path: Path) -> None:
    """`zfstm run` remembers a listing it did not act on (listings.json); the next tick recalls it while the dataset's
    snapshots_changed stands still, reads the snapshots to destroy again, and keeps the one held by hand meanwhile."""
    config = tmp_path / "zfstm.toml"
    config.write_text(
        f'run_dir = "{tmp_path}/run"\nstate_dir = "{tmp_path}/state"\n[backend]\nremember = "1d"\n'
        '[detector]\nmax_interval = "none"\n'
        f'[file_server]\nkind = "none"\n[[targets]]\nname = "tm"\ndataset = "{fs}"\n'
        "[targets.retention]\nmax_destroy_share = 1\n"
    )
    memory = tmp_path / "state" / "listings.json"
    first = zfstm("run", "--config", str(config), "--now", NOW_TEXT, "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(memory.read_text())["datasets"] == {}  # it pruned tank/...: not remembered
    time.sleep(2.5)  # snapshots_changed counts seconds: a stamp this close to a read is not trusted
    second = zfstm("run", "--config", str(config), "--now", NOW_TEXT, "--json")
    assert second.returncode == 0, second.stderr
    assert list(json.loads(memory.read_text())["datasets"]) == [fs]  # nothing done: remembered
    later = (NOW + timedelta(days=40)).isoformat()
    planned = json.loads(zfstm("plan", fs, "--now", later, "--json").stdout)
    doomed = sorted(entry["name"] for entry in planned["destroy"])
    assert len(doomed) >= 2
    zfs("hold", "by-hand", doomed[0])  # snapshots_changed does not move: the remembered listing is recalled
    third = zfstm("run", "--config", str(config), "--now", later, "--json")
    assert third.returncode == 0, third.stderr
    assert f"{doomed[0]}: not destroyed: it changed since zfstm last listed {fs}" in third.stderr
    after = present(fs)
    assert doomed[0] in after
    assert not set(doomed[1:]) & after
    assert json.loads(memory.read_text())["datasets"] == {}
