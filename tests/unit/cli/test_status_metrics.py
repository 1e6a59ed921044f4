"""`zfstm status` names the ZFS backend and why; `--prometheus FILE` writes per-target metrics atomically."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.unit.lifecycle.world import World, make_world
from zfstm.prometheus import METRICS, TargetSample, prometheus_text
from zfstm.zfs import BackendChoice


def call(world: World, *argv: str) -> int:
    return world.cli(*argv)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("ZFSTM_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("ZFSTM_STATE_DIR", str(tmp_path / "state"))
    return make_world(tmp_path)


def test_status_names_the_backend_and_why(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert call(world, "status", "--summary") == 0
    assert capsys.readouterr().out.startswith("ZFS backend: the in-memory fake (passed in by the caller)\n")
    assert call(world, "status", "--json") == 0
    backend = json.loads(capsys.readouterr().out)["backend"]
    assert backend == {"kind": "fake", "label": "the in-memory fake", "reason": "passed in by the caller"}


def test_prometheus_file_has_per_target_metrics(world: World, tmp_path: Path) -> None:
    call(world, "run", "--now", "2026-11-28T12:00:00Z")
    out = tmp_path / "textfile" / "zfstm.prom"
    assert call(world, "status", "--prometheus", str(out), "--now", "2026-11-28T13:00:00Z") == 0
    text = out.read_text()
    assert 'zfstm_info{version="' in text and 'backend="fake"} 1' in text
    assert re.search(r'^zfstm_target_up\{target="tm",dataset="tank/tm"\} 1$', text, re.MULTILINE)
    assert re.search(r'^zfstm_last_snapshot_age_seconds\{target="tm",dataset="tank/tm"\} 3600$', text, re.MULTILINE)
    assert re.search(r'^zfstm_known_good_age_seconds\{target="tm",[^}]*\} 3600$', text, re.MULTILINE)
    assert re.search(r'^zfstm_snapshots\{target="tm",[^}]*\} 1$', text, re.MULTILINE)
    assert re.search(r'^zfstm_rollback_unfinished\{target="tm",[^}]*\} 0$', text, re.MULTILINE)
    assert [p.name for p in out.parent.iterdir()] == ["zfstm.prom"]  # no temporary file left behind
    assert oct(out.stat().st_mode & 0o777) == oct(0o644)


def test_prometheus_to_stdout(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert call(world, "status", "--prometheus", "-") == 0
    assert "# TYPE zfstm_target_up gauge" in capsys.readouterr().out


NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_a_target_that_cannot_be_looked_at_is_down_with_its_error() -> None:
    text = prometheus_text([TargetSample("tm", "tank/tm", error="DatasetNotFound")], NOW, version="0.1.0", backend=None)
    assert 'zfstm_target_up{target="tm",dataset="tank/tm"} 0' in text
    assert 'zfstm_target_error{target="tm",dataset="tank/tm",error="DatasetNotFound"} 1' in text
    assert "zfstm_last_snapshot_age_seconds{" not in text  # unknown is absent, never 0
    assert 'backend="unknown"' in text


def test_every_metric_has_help_and_type_and_valid_sample_lines() -> None:
    choice = BackendChoice("cli", "auto: no pyzfs")
    text = prometheus_text(
        [TargetSample('a"b', "tank/tm", used=10, available=20, capacity=0.25)], NOW, version="1", backend=choice
    )
    for name, _ in METRICS:
        assert f"# HELP {name} " in text and f"# TYPE {name} gauge" in text
    sample = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+]+$')
    for line in text.splitlines():
        assert line.startswith("# ") or sample.match(line), line
    assert 'target="a\\"b"' in text
    assert f"zfstm_metrics_timestamp_seconds {int(NOW.timestamp())}" in text
