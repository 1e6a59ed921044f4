"""The main job's script on the host: its configuration is valid and its simulated month plays out on the fake pool
as the docs say (a snapshot after each quiet backup, the known-good hold moving, the expected prunes)."""

from __future__ import annotations

import contextlib
import io
import json
import os
from datetime import timedelta
from pathlib import Path

from zfstm.cli.main import build_parser
from zfstm.config.load import parse_config
from zfstm.testbed import story
from zfstm.testbed import story_world as world
from zfstm.zfs import DatasetName
from zfstm.zfs.fake import FakeBackend


def test_story_config_is_valid(tmp_path: Path) -> None:
    """The zfstm.toml the story writes parses, with the share and CNID datasets and the pidfile adapter."""
    config = parse_config(story.config_text(tmp_path / "lock"), str(tmp_path / "zfstm.toml"))
    assert [t.dataset.full for t in config.targets] == [story.DATA]


def test_simulated_month_snapshots_each_backup_and_prunes_as_documented(tmp_path: Path) -> None:
    """Each backup gets a snapshot 15 min later (not at 3 min: not quiet yet); the known-good hold follows; the
    first day's 09:15 and 14:15 and later its 20:15 snapshot are pruned, as docs/retention.md tells."""
    share = tmp_path / "share"
    (share / world.BUNDLE / "bands").mkdir(parents=True)
    (share / world.BUNDLE / "Info.plist").write_bytes(world.INFO)
    config = tmp_path / "z.toml"
    config.write_text(
        f'state_dir = "{tmp_path}/state"\nrun_dir = "{tmp_path}/run"\n[file_server]\nkind = "none"\n'
        f'[[targets]]\nname = "tm"\ndataset = "{story.DATA}"\ncnid_dataset = "{story.CNID}"\nshare_path = "{share}"\n'
    )
    backend = FakeBackend()
    for name in (story.DATA, story.CNID):
        backend.create_filesystem(DatasetName(name))
    mac = world.Mac(share)
    taken: list[str | None] = []
    pruned: dict[str, str] = {}

    def run(now: object) -> dict[str, object]:
        args = build_parser().parse_args(["run", "--config", str(config), "--now", world.iso(now), "--json"])  # type: ignore[arg-type]
        args.zfs_backend = backend
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert args.handler(args) == 0
        target: dict[str, object] = json.loads(out.getvalue())["targets"][0]
        return target

    for number, (day, hour) in enumerate(story.SCHEDULE):
        when = story.START + timedelta(days=day, hours=hour)
        for index in range(mac.next_band, mac.next_band + 3):
            (share / world.BUNDLE / "bands" / f"{index:x}").write_bytes(os.urandom(64))
        mac.next_band += 3
        mac.completions.append(when)
        (share / world.BUNDLE / world.HISTORY).write_bytes(world.history(mac.completions))
        (share / world.BUNDLE / world.MACHINE_ID).write_bytes(world.machine_id(1, when))
        mac.date_files(when - timedelta(minutes=1))
        if number == 0:
            assert run(when + timedelta(minutes=3))["snapshot"] is None
        target = run(when + timedelta(minutes=15))
        taken.append(target["snapshot"])  # type: ignore[arg-type]
        assert target["known_good"] == target["snapshot"]
        for name in target["destroy"]:  # type: ignore[attr-defined]
            pruned[name] = world.iso(when + timedelta(minutes=15))
    assert all(taken)
    assert pruned["tank/tm@zfstm-20261024T091500Z"] == "2026-10-25T10:15:00Z"
    assert pruned["tank/tm@zfstm-20261024T141500Z"] == "2026-10-25T19:15:00Z"
    assert pruned["tank/tm@zfstm-20261024T201500Z"] == "2026-11-27T08:15:00Z"
