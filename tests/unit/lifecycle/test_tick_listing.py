"""A tick lists each pool once (twice when it created or marked something) and destroys in one batched call; a
target whose dataset cannot be listed fails alone (issue 13 item 1, issue 14)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.unit.lifecycle.test_isolation import B, two_targets
from zfstm.zfs.fake import FakeBackend


def counting(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count the fake's batched listings, holds and destroy calls."""
    calls: Counter[str] = Counter()
    for method in ("list_datasets", "holds_of", "destroy_snapshots"):
        real: Callable[..., Any] = getattr(FakeBackend, method)

        def wrapper(self: FakeBackend, *args: Any, _real: Callable[..., Any] = real, _name: str = method) -> Any:
            calls[_name] += 1
            return _real(self, *args)

        monkeypatch.setattr(FakeBackend, method, wrapper)
    return calls


def test_one_listing_per_pool_and_one_destroy_for_all_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = two_targets(tmp_path)
    calls = counting(monkeypatch)
    report = world.tick()  # snapshots both targets, then lists once more and prunes both
    assert report.exit_code == 0, report.failures
    assert len(report.snapshots) == 2 and len(report.destroyed) == 2
    assert calls["list_datasets"] == 2
    assert calls["destroy_snapshots"] == 1
    calls.clear()
    report = world.tick()  # nothing due, nothing to prune: the first listing is the state
    assert report.exit_code == 0 and report.snapshots == ()
    assert calls["list_datasets"] == 1 and calls["destroy_snapshots"] == 0
    assert calls["holds_of"] == 1  # the known-good holds of both targets, in one call


def test_a_target_whose_dataset_is_gone_fails_alone(tmp_path: Path) -> None:
    world = two_targets(tmp_path)
    world.backend.destroy_dataset(B, recursive=True)
    report = world.tick()
    assert [(f.target, f.step) for f in report.failures] == [("b", "observe")]
    assert "tank/b" in report.failures[0].message
    assert "tank/tm@zfstm-20261128T120000Z" in report.snapshots
