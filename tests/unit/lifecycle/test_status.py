"""`zfstm status` values and renderers: last backup, verification, snapshots with USED and REFER."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.unit.lifecycle.world import DATA, make_world
from tests.unit.timemachine.fixtures import NOW
from zfstm.lifecycle.observe import observe
from zfstm.lifecycle.status import human_size, status_json, status_text, target_status


def test_human_size_like_zfs_list() -> None:
    """Sizes print like `zfs list`: bytes below 1K, then three significant digits with K/M/G/T."""
    assert [human_size(v) for v in (None, 0, 512, 1024, 1536, 10 * 1024, 123 * 1024**2, 5 * 1024**4)] == [
        "-",
        "0B",
        "512B",
        "1K",
        "1.5K",
        "10K",
        "123M",
        "5T",
    ]


def test_status_reports_backup_snapshots_and_known_good(tmp_path: Path) -> None:
    """Status shows the last completion, the verdict, the last and known-good snapshot and every snapshot."""
    world = make_world(tmp_path)
    world.tick()
    world.backup(NOW + timedelta(hours=1), verification_state=2)
    world.now = NOW + timedelta(hours=2)
    world.tick()
    obs = observe(world.backend, world.config, world.config.targets[0], state_dir=None, sessions=lambda *_: None)
    status = target_status(obs, world.now)
    document = status_json([status])["targets"][0]
    assert document["last_backup_completion"] == "2026-11-28T13:00:00Z"
    assert document["verification"]["state"] == "failed"
    assert document["last_snapshot"] == "tank/tm@zfstm-20261128T140000Z"
    assert document["known_good"] == "tank/tm@zfstm-20261128T120000Z"
    assert document["snapshot_count"] == 2
    assert [s["verification"] for s in document["snapshots"]] == ["ok", "failed"]
    assert all(isinstance(s["referenced"], int) and isinstance(s["used"], int) for s in document["snapshots"])
    text = status_text([status])
    assert "KNOWN-GOOD" in text and "zfstm-20261128T120000Z" in text
    assert "USED" in text and "REFER" in text
    assert f"{DATA}@zfstm-20261128T140000Z" in text
