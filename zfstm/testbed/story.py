"""The main job, played inside the testbed on real ZFS: what zfstm does for a Time Machine share, step by step.

Run on the host with ``python -m zfstm.testbed demo`` (which boots the VM and runs this module in it).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from zfstm.zfs import DatasetName, SnapshotName, open_backend

POOL = "tank"


def say(text: str) -> None:
    print(f"\n▶ {text}", flush=True)


def show(argv: list[str]) -> None:
    print(f"$ {' '.join(argv)}", flush=True)
    subprocess.run(argv, check=True)


def main() -> int:
    backend = open_backend()
    say(f"ZFS backend: {backend.kind} (libzfs_core through pyzfs when available, else the zfs CLI)")
    data, cnid = DatasetName(f"{POOL}/tm"), DatasetName(f"{POOL}/cnid")
    say("Provision a Time Machine share and a dataset for Netatalk's CNID database")
    backend.create_filesystem(data, {"compression": "lz4", "refquota": "2G"})
    backend.create_filesystem(cnid)
    show(["zfs", "list", "-o", "name,used,refquota,compression,mountpoint", "-r", POOL])

    say("Take one atomic snapshot of both datasets through zfstm (one transaction group)")
    stamp = datetime.now(UTC).strftime("zfstm-%Y%m%dT%H%M%SZ")
    names = [SnapshotName(data, stamp), SnapshotName(cnid, stamp)]
    backend.snapshot(names, {"zfstm:managed": "yes"})
    show(["zfs", "list", "-t", "snapshot", "-o", "name,createtxg,zfstm:managed", "-r", POOL])
    txgs = {info.createtxg for name in (data, cnid) for info in backend.list_snapshots(name)}
    say(f"Both snapshots share createtxg {txgs.pop()}: data and CNID database always match" if len(txgs) == 1 else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
