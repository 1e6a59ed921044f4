"""What the two volume stories (LIO over iSCSI, nbd-server) share: commands, zfstm with the story's config, the
configuration of one volume target, its snapshots, and the checksums of the files the "Mac" wrote."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

POOL = os.environ.get("ZFSTM_TESTBED_POOL", "tank")
VOLUME = f"{POOL}/mac1"
QUIET = 20  # seconds; a real Mac's backups want the default 10 minutes


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr or done.stdout}")
    return done


def zfstm(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "zfstm.cli.main", *args]
    env = {**os.environ, "ZFSTM_CONFIG": str(config)}
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600, env=env)


def write_config(config: Path, volume_table: str) -> None:
    """One volume target ``mac1`` on VOLUME, quiet after QUIET seconds, everything kept for a day."""
    work = config.parent
    config.write_text(
        f"""
run_dir = "{work / "run"}"
state_dir = "{work / "state"}"
[retention]
keep_all = "1d"
[[targets]]
name = "mac1"
dataset = "{VOLUME}"
[targets.detector]
quiet_period = "{QUIET}s"
[targets.volume]
{volume_table}
"""
    )


def checksums(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.glob("file-*"))}


def write_files(root: Path) -> dict[str, str]:
    """Twelve files of random bytes (64 KiB to 768 KiB), as a backup would leave them; their checksums."""
    for index in range(12):
        (root / f"file-{index:02d}").write_bytes(os.urandom(64 * 1024 * (index + 1)))
    return checksums(root)


def snapshots() -> list[str]:
    listing = run("zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-s", "createtxg", "-d", "1", VOLUME)
    return listing.stdout.split()
