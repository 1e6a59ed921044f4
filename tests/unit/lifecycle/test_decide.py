"""The pure tick planner: batches per pool with CNID datasets, shared and per-snapshot properties, stands-until."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.unit.timemachine.fixtures import NOW, BundleSpec, build_share
from zfstm.config.load import parse_config
from zfstm.config.model import Config
from zfstm.lifecycle.decide import plan_tick
from zfstm.lifecycle.model import TargetObservation
from zfstm.naming import DEFAULT_SCHEME
from zfstm.retention import Pick
from zfstm.snapshots.model import DatasetState, SnapshotView, retention_view
from zfstm.snapshots.tags import STANDS_UNTIL
from zfstm.timemachine.reader import read_share
from zfstm.zfs import DatasetName


def _config(datasets: list[tuple[str, str | None]]) -> Config:
    text = ""
    for dataset, cnid in datasets:
        text += f'[[targets]]\ndataset = "{dataset}"\n' + (f'cnid_dataset = "{cnid}"\n' if cnid else "")
        text += '[targets.file_server]\nkind = "none"\n'
    return parse_config(text, "test.toml")


def _observe(config: Config, shares: dict[str, Path]) -> list[TargetObservation]:
    observations = []
    for target in config.targets:
        cnid = DatasetState(target.cnid_dataset) if target.cnid_dataset else None
        observations.append(
            TargetObservation(target, read_share(shares[target.name]), DatasetState(target.dataset, written=100), cnid)
        )
    return observations


def test_targets_of_one_pool_and_their_cnid_go_in_one_batch(tmp_path: Path) -> None:
    """Two due targets in one pool plus the CNID dataset they share: one atomic call with three names."""
    config = _config([("tank/a", "tank/cnid"), ("tank/b", "tank/cnid")])
    shares = {
        "a": build_share(tmp_path / "a", BundleSpec()),
        "b": build_share(tmp_path / "b", BundleSpec(verification_state=2)),
    }
    plan = plan_tick(config, _observe(config, shares), NOW)
    assert len(plan.batches) == 1
    batch = plan.batches[0]
    assert [name.full for name in batch.names] == [
        "tank/a@zfstm-20261128T120000Z",
        "tank/b@zfstm-20261128T120000Z",
        "tank/cnid@zfstm-20261128T120000Z",
    ]
    assert batch.common["zfstm:managed"] == "yes"
    assert "zfstm:tm-verification" not in batch.common  # ok for a, failed for b: set per snapshot afterwards
    extras = {name.full: props["zfstm:tm-verification"] for name, props in batch.extra}
    assert extras == {"tank/a@zfstm-20261128T120000Z": "ok", "tank/b@zfstm-20261128T120000Z": "failed"}


def test_targets_in_two_pools_get_one_batch_each(tmp_path: Path) -> None:
    """An atomic snapshot cannot span pools: one batch per pool, each with all its names."""
    config = _config([("tank/a", None), ("backup/b", None)])
    shares = {"a": build_share(tmp_path / "a"), "b": build_share(tmp_path / "b")}
    plan = plan_tick(config, _observe(config, shares), NOW)
    assert [(b.pool, [n.full for n in b.names]) for b in plan.batches] == [
        ("backup", ["backup/b@zfstm-20261128T120000Z"]),
        ("tank", ["tank/a@zfstm-20261128T120000Z"]),
    ]
    assert all(not batch.extra for batch in plan.batches)


def test_target_in_progress_is_left_out_of_the_batch(tmp_path: Path) -> None:
    """Only due targets are snapshotted: a share with an .incomplete bundle waits."""
    config = _config([("tank/a", None), ("tank/b", None)])
    shares = {"a": build_share(tmp_path / "a"), "b": build_share(tmp_path / "b", BundleSpec(incomplete=True))}
    plan = plan_tick(config, _observe(config, shares), NOW)
    assert [n.full for n in plan.batches[0].names] == ["tank/a@zfstm-20261128T120000Z"]
    assert plan.decisions[1].activity.state.value == "in_progress"


def test_stands_until_moves_the_retention_time_only_for_pick_last() -> None:
    """A snapshot that stood in for skipped empty ones counts at its stands-until time when buckets pick the last."""
    name = DatasetName("tank/a").snapshot(DEFAULT_SCHEME.format(NOW))
    until = NOW + timedelta(days=2)
    view = SnapshotView(
        name, NOW, 5, NOW, managed=True, properties={"zfstm:managed": "yes", STANDS_UNTIL: "2026-11-30T12:00:00Z"}
    )
    last = retention_view(view, frozenset(), pick=Pick.LAST, naming=DEFAULT_SCHEME, adopted=())
    first = retention_view(view, frozenset(), pick=Pick.FIRST, naming=DEFAULT_SCHEME, adopted=())
    assert last.time == until
    assert first.time == NOW
