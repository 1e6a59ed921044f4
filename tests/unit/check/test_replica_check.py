"""`zfstm check` on a replica: its newest zfstm snapshot's age is the replication lag, and its known-good snapshot is
the one the source's rule picks from the received snapshots' properties (holds do not travel with zfs send)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.unit.lifecycle.world import DATA, World, make_world
from tests.unit.timemachine.fixtures import NOW
from zfstm.check.verdict import DAY, Limit, State, TargetFacts, Thresholds, evaluate
from zfstm.cli import check as check_cli
from zfstm.snapshots.tags import KNOWN_GOOD_HOLD
from zfstm.timemachine.machineid import Verdict
from zfstm.zfs import DatasetName, HoldTag, SnapshotName
from zfstm.zfs.backend import ZfsBackend


@pytest.fixture
def replica(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    """A snapshot taken and marked known-good on the "source", then the dataset seen as a replica: no hold on it."""
    monkeypatch.setenv("ZFSTM_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("ZFSTM_STATE_DIR", str(tmp_path / "run"))

    def half_full(_backend: ZfsBackend, _dataset: DatasetName) -> float:
        return 0.5

    monkeypatch.setattr(check_cli, "pool_capacity", half_full)
    world = make_world(tmp_path, cnid=False)
    assert world.tick().exit_code == 0
    (held,) = world.held(DATA)
    world.backend.release([SnapshotName.parse(held)], HoldTag(KNOWN_GOOD_HOLD))
    world.text = world.text.replace('name = "tm"', 'name = "tm"\nreplica = true')
    return world


def findings(world: World, capsys: pytest.CaptureFixture[str], *flags: str, days: float = 0) -> dict[str, Any]:
    at = (NOW + timedelta(days=days, minutes=5)).isoformat()
    world.cli("check", "--json", "--now", at, *flags)
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return {f["metric"]: f for f in document["findings"]} | {"exit_code": document["exit_code"]}


def test_replica_known_good_from_properties_and_lag_judged(replica: World, capsys: pytest.CaptureFixture[str]) -> None:
    """Fresh: OK with the known-good found without a hold; 3 days on: the lag and the backup age warn."""
    assert replica.held(DATA) == []
    fresh = findings(replica, capsys)
    assert fresh["exit_code"] == 0, fresh
    assert "snapshot_age" not in fresh and fresh["replication_lag"]["state"] == "OK"
    assert fresh["known_good_age"]["state"] == "OK"
    late = findings(replica, capsys, days=3)
    assert late["replication_lag"]["state"] == "WARNING"
    assert late["replication_lag"]["message"].startswith("newest replicated snapshot 3.0d ago")
    assert findings(replica, capsys, "--replication-lag", "4d,8d", "--backup-age", "4d,8d", days=3)["exit_code"] == 0


def test_replica_without_a_verified_snapshot_warns_about_known_good(
    replica: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Received snapshots that no verified backup preceded: no known-good to restore from, a WARNING (missing)."""
    for info in replica.backend.list_snapshots(DATA):
        replica.backend.set_property(info.name, "zfstm:tm-verification", "failed")
    found = findings(replica, capsys)
    assert found["known_good_age"]["state"] == "WARNING"
    assert found["known_good_age"]["message"] == "no known-good snapshot yet"


def test_evaluate_names_the_lag_only_for_a_replica() -> None:
    """A source keeps snapshot_age; a replica's newest snapshot is judged against replication_lag instead."""
    facts = TargetFacts("t", NOW, Verdict.OK, NOW - timedelta(days=1), NOW, replica=True, capacity=0.1)
    strict = Thresholds(replication_lag=Limit(0.5 * DAY, 2 * DAY))
    metrics = {f.metric: f.state for f in evaluate(facts, strict, NOW)}
    assert metrics["replication_lag"] is State.WARNING and "snapshot_age" not in metrics
    source = {f.metric for f in evaluate(TargetFacts("t", NOW, Verdict.OK, NOW, NOW), strict, NOW)}
    assert "snapshot_age" in source and "replication_lag" not in source
