"""A small test world: a Time Machine share on disk, a fake ZFS with tank/tm + tank/cnid, a config, a fixed clock."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import attrs

from tests.unit.timemachine.fixtures import NOW, BundleSpec, build_share, history_plist, machine_id_plist
from zfstm.config.load import parse_config
from zfstm.config.model import Config
from zfstm.lifecycle.outcome import TickReport
from zfstm.lifecycle.tick import run_tick
from zfstm.snapshots.memory import Memory
from zfstm.zfs import DatasetName, SnapshotInfo, SnapshotName
from zfstm.zfs.fake import FakeBackend

DATA = DatasetName("tank/tm")
CNID = DatasetName("tank/cnid")
BUNDLE = "Mac.sparsebundle"


def no_sessions(_target: object, _path: str) -> int | None:
    return None


@attrs.define
class World:
    """Everything one lifecycle test needs; ``now`` is moved by the test, the fake's clock follows it."""

    root: Path
    share: Path
    backend: FakeBackend
    config: Config
    text: str = ""
    now: datetime = NOW

    def tick(
        self, *, dry_run: bool = False, manual: bool = False, prune: bool = True, memory: Memory | None = None
    ) -> TickReport:
        """One tick at ``now``; like ZFS, a snapshot resets the dataset's ``written`` to 0."""
        report = run_tick(
            self.config,
            self.config.targets,
            self.backend,
            self.now,
            run_dir=self.root / "run",
            state_dir=self.root / "run",
            dry_run=dry_run,
            manual=manual,
            prune=prune,
            sessions=no_sessions,
            memory=memory,
        )
        for name in report.snapshots:
            dataset = DatasetName(name.partition("@")[0])
            if dataset == DATA:
                self.backend.set_property(dataset, "written", "0")
        return report

    def cli(self, *argv: str) -> int:
        """Run ``zfstm ARGV --config <this world's file>`` through the real parser, on this world's fake ZFS."""
        from zfstm.cli.main import build_parser  # the CLI imports everything; only tests that run it pay for that

        config = self.root / "zfstm.toml"
        config.write_text(self.text)
        args = build_parser().parse_args([*argv, "--config", str(config)])
        args.zfs_backend = self.backend
        code: int = args.handler(args)
        return code

    @property
    def bundle(self) -> Path:
        return self.share / BUNDLE

    def backup(self, completed: datetime, *, verification_state: int = 1, band_mtime: datetime | None = None) -> None:
        """Time Machine wrote bands and then recorded a completion at ``completed``."""
        self.touch_bands(band_mtime or completed - timedelta(minutes=1))
        history = self.bundle / "com.apple.TimeMachine.SnapshotHistory.plist"
        history.write_bytes(history_plist([completed - timedelta(hours=1), completed]))
        machine = self.bundle / "com.apple.TimeMachine.MachineID.plist"
        machine.write_bytes(machine_id_plist(verification_state=verification_state, verification_date=completed))
        (self.bundle / "com.apple.TimeMachine.MachineID.bckup").unlink(missing_ok=True)
        self.write(4096)

    def touch_bands(self, when: datetime) -> None:
        """Time Machine writes bands at ``when``."""
        for band in (self.bundle / "bands").iterdir():
            os.utime(band, (when.timestamp(), when.timestamp()))

    def write(self, nbytes: int) -> None:
        """The dataset's ``written`` grows (what ZFS would report after writes)."""
        current = self.backend.get_properties(DATA, ["written"])["written"]
        self.backend.set_property(DATA, "written", str(int(current or 0) + nbytes))

    def snapshots(self, dataset: DatasetName = DATA) -> list[SnapshotInfo]:
        return self.backend.list_snapshots(dataset, user_props=["zfstm:tm-verification", "zfstm:activity"])

    def held(self, dataset: DatasetName = DATA) -> list[str]:
        return [s.name.full for s in self.snapshots(dataset) if "zfstm-known-good" in self.backend.holds(s.name)]


def make_world(tmp_path: Path, extra: str = "", *, cnid: bool = True, spec: BundleSpec | None = None) -> World:
    """A share with one healthy bundle whose backup completed at NOW - 1h, on a fake pool ``tank``."""
    share = build_share(tmp_path / "share", spec or BundleSpec())
    cnid_line = f'cnid_dataset = "{CNID}"' if cnid else ""
    text = f"""
[[targets]]
name = "tm"
dataset = "{DATA}"
{cnid_line}
share_path = "{share}"
{extra}
[targets.file_server]
kind = "none"
"""
    config = parse_config(text, str(tmp_path / "zfstm.toml"))
    world = World(tmp_path, share, FakeBackend(), config, text)
    world.backend.clock = lambda: world.now
    world.backend.create_filesystem(DATA)
    world.backend.create_filesystem(CNID)
    world.write(4096)
    return world


def snapshot_name(short: str, dataset: DatasetName = DATA) -> SnapshotName:
    return dataset.snapshot(short)
