"""zfstm beside a replication engine: syncoid (Debian's sanoid package) copies the share and its CNID dataset to a
second pool while zfstm snapshots, prunes and rolls back the source; and what bookmarks do to a rollback.

Every assertion is about what ZFS and syncoid really did in the testbed (OpenZFS 2.3.9, syncoid 2.2.0):

- syncoid's sync snapshots (``syncoid_HOST_DATE``) are foreign to zfstm: every prune leaves them, so the newest
  snapshot common to source and replica (syncoid's newest) survives and every incremental goes through;
- zfstm's snapshots arrive with their ``zfstm:*`` properties only when the stream carries them (``--sendoptions=p``,
  i.e. ``zfs send -p``); then the replica target (``replica = true``) prunes them on the same rules, while zfstm
  never snapshots it and refuses to roll it back;
- after a rollback of the source (swap, then ``--discard-newer``) the plan names what the next replication needs,
  and syncoid's default run (it rolls the replica back to the newest common snapshot) makes the replica equal to
  the source again;
- a bookmark newer than the rollback snapshot: ``--discard-newer`` is refused before anything is destroyed; the swap
  says where the bookmark goes (the kept dataset) and it goes there; ``zfs rollback -r`` would have destroyed it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from zfstm.naming import DEFAULT_SCHEME

pytestmark = pytest.mark.integration

WORK = Path("/var/tmp/zfstm-replication")
CONFIG = WORK / "zfstm.toml"
START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False, env={**os.environ, "LC_ALL": "C"})
    if check and done.returncode != 0:
        raise AssertionError(f"{argv}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def zfstm(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zfstm.cli.main", *argv],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ZFSTM_CONFIG": str(CONFIG)},
    )


def syncoid(source: str, target: str) -> subprocess.CompletedProcess[str]:
    """syncoid as a user would run it beside zfstm: sync snapshots on, properties carried (zfs send -p)."""
    return sh("syncoid", "--quiet", "--no-privilege-elevation", "--sendoptions=p", source, target, check=False)


def snapshots(dataset: str) -> list[str]:
    out = sh("zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-s", "createtxg", "-d", "1", dataset).stdout
    return [line.partition("@")[2] for line in out.splitlines()]


def bookmarks(dataset: str) -> list[str]:
    out = sh("zfs", "list", "-H", "-o", "name", "-t", "bookmark", "-d", "1", dataset).stdout
    return [line.partition("#")[2] for line in out.splitlines()]


def prop(name: str, key: str) -> str:
    return sh("zfs", "get", "-H", "-o", "value", key, name).stdout.strip()


def stamp(time: datetime) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ")


def content(root: str) -> dict[str, str]:
    """Relative path -> sha256 of every regular file under ``root`` (the .zfs directory is hidden)."""
    found = {}
    for path in sorted(Path(root).rglob("*")):
        if path.is_file():
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def write(dataset: str, name: str, text: str) -> None:
    (Path(prop(dataset, "mountpoint")) / name).write_text(text)


def take(*datasets: str, time: datetime) -> None:
    """What zfstm's tick does, without a zfstm process per snapshot (each costs seconds in the emulated VM): one
    atomic ``zfs snapshot`` of share and CNID dataset, named for ``time``, marked managed."""
    short = DEFAULT_SCHEME.format(time)
    sh("zfs", "snapshot", "-o", "zfstm:managed=yes", *(f"{dataset}@{short}" for dataset in datasets))


def managed(dataset: str) -> list[str]:
    return [s for s in snapshots(dataset) if DEFAULT_SCHEME.parse(s) is not None]


@pytest.fixture
def pools() -> Iterator[None]:
    """tank/tm + tank/cnid (source), a file-backed pool ``backup`` (replica side), and the configuration."""
    WORK.mkdir(parents=True, exist_ok=True)
    image = WORK / "backup.img"
    sh("truncate", "-s", "1G", str(image))
    sh("zpool", "create", "-f", "backup", str(image))
    sh("zfs", "create", "tank/tm")
    sh("zfs", "create", "tank/cnid")
    CONFIG.write_text(
        f'state_dir = "{WORK / "state"}"\nrun_dir = "{WORK / "run"}"\n\n'
        '[backend]\nkind = "cli"\n\n[file_server]\nkind = "none"\n\n'
        '[retention]\nhourly = "24h"\ndaily = "3d"\nweekly = "none"\nmonthly = "none"\nmax_destroy_share = 1\n\n'
        '[[targets]]\nname = "tm"\ndataset = "tank/tm"\ncnid_dataset = "tank/cnid"\n\n'
        '[[targets]]\nname = "tm-replica"\ndataset = "backup/tm"\ncnid_dataset = "backup/cnid"\nreplica = true\n\n'
        '[[targets]]\nname = "bm"\ndataset = "tank/bm"\n'
    )
    try:
        yield
    finally:
        sh("zpool", "destroy", "-f", "backup", check=False)
        image.unlink(missing_ok=True)
        for dataset in ("tank/tm", "tank/cnid", "tank/bm", "tank/bm2", "tank/hk"):
            sh("zfs", "destroy", "-R", dataset, check=False)
        for left in sh("zfs", "list", "-H", "-o", "name", "-r", "tank").stdout.split():
            if ".before-rollback-" in left:
                sh("zfs", "destroy", "-R", left, check=False)


def test_syncoid_replicates_beside_zfstm(pools: None) -> None:
    """Snapshots, prunes and two kinds of rollback on the source; syncoid keeps the replica equal each time."""
    # 12 snapshots, 6 h apart, of a share that changes between them (data and CNID dataset in lockstep)
    times = [START + timedelta(hours=6 * i) for i in range(12)]
    for index, time in enumerate(times):
        write("tank/tm", f"band-{index}", f"band {index}\n" * 100)
        write("tank/cnid", "cnid2.db", f"db {index}\n")
        take("tank/tm", "tank/cnid", time=time)
    assert len(managed("tank/tm")) == 12
    assert managed("tank/cnid") == managed("tank/tm")
    assert managed("backup") == []

    for dataset in ("tm", "cnid"):
        first = syncoid(f"tank/{dataset}", f"backup/{dataset}")
        assert first.returncode == 0, first.stdout + first.stderr
    sync = [s for s in snapshots("tank/tm") if s.startswith("syncoid_")]
    assert len(sync) == 1 and sync[0].startswith(f"syncoid_{os.uname().nodename}_"), sync
    assert managed("backup/tm") == managed("tank/tm")
    # the properties travelled: received, not local
    newest = managed("backup/tm")[-1]
    assert prop(f"backup/tm@{newest}", "zfstm:managed") == "yes"
    assert sh("zfs", "get", "-H", "-o", "source", "zfstm:managed", f"backup/tm@{newest}").stdout.strip() == "received"
    assert prop(f"backup/cnid@{newest}", "zfstm:managed") == "yes"

    # two days later a tick snapshots the grown share (max_interval) and prunes: hourly ones older than 24 h go
    later = times[-1] + timedelta(days=2)
    (Path(prop("tank/tm", "mountpoint")) / "grown").write_bytes(os.urandom(2 << 20))  # above written_noise
    before = managed("tank/tm")
    done = zfstm("run", "tm", "--now", stamp(later))
    assert done.returncode == 0, done.stdout + done.stderr
    kept_source = managed("tank/tm")
    assert len(set(before) - set(kept_source)) >= 4, (before, kept_source)
    assert [s for s in snapshots("tank/tm") if s.startswith("syncoid_")] == sync, "a sync snapshot was destroyed"
    assert managed("tank/cnid") == kept_source

    write("tank/tm", "after-prune", "x\n")
    for dataset in ("tm", "cnid"):
        again = syncoid(f"tank/{dataset}", f"backup/{dataset}")
        assert again.returncode == 0, again.stdout + again.stderr
    assert content("/backup/tm") == content("/tank/tm")

    # the replica: never snapshotted, never rolled back, pruned on the same rules
    replica_before = managed("backup/tm")
    done = zfstm("snapshot", "tm-replica", "--now", stamp(later + timedelta(minutes=1)))
    assert done.returncode == 0, done.stderr
    assert managed("backup/tm") == replica_before, "zfstm snapshotted a replica"
    done = zfstm("run", "tm-replica", "--now", stamp(later))
    assert done.returncode == 0, done.stdout + done.stderr
    replica_kept = managed("backup/tm")
    assert set(replica_kept) < set(replica_before)
    assert set(replica_kept) == set(kept_source) & set(replica_before), (replica_kept, kept_source)
    assert managed("backup/cnid") == replica_kept
    assert any(s.startswith("syncoid_") for s in snapshots("backup/tm"))
    refused = zfstm("rollback", "tm-replica", "--to", replica_kept[0], "--yes")
    assert refused.returncode == 4 and "replica" in refused.stderr, refused.stderr

    # swap rollback of the source to a snapshot the replica still has; the plan says what replication needs
    to = kept_source[-2]
    done = zfstm("rollback", "tm", "--to", to, "--yes", "--now", stamp(later))  # prints the plan first
    assert done.returncode == 0, done.stdout + done.stderr
    assert "replication: tank/tm looks replicated" in done.stdout and f"at most @{to}" in done.stdout, done.stdout
    write("tank/tm", "after-swap", "y\n")
    again = syncoid("tank/tm", "backup/tm")
    assert again.returncode == 0, again.stdout + again.stderr
    assert content("/backup/tm") == content("/tank/tm")
    assert "after-prune" not in content("/backup/tm")

    # the same with --discard-newer: a snapshot, a sync, then back to the snapshot before them
    base = managed("tank/tm")[-1]
    write("tank/tm", "doomed", "z\n")
    take("tank/tm", "tank/cnid", time=later + timedelta(hours=1))
    assert syncoid("tank/tm", "backup/tm").returncode == 0
    assert "doomed" in content("/backup/tm")
    done = zfstm("rollback", "tm", "--to", base, "--discard-newer", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "replication: tank/tm looks replicated" in done.stdout, done.stdout
    again = syncoid("tank/tm", "backup/tm")
    assert again.returncode == 0, again.stdout + again.stderr
    assert content("/backup/tm") == content("/tank/tm")
    assert "doomed" not in content("/backup/tm")


def test_bookmarks_and_rollback(pools: None) -> None:
    """A newer bookmark: --discard-newer refused with nothing destroyed; the swap moves it to the kept dataset."""
    sh("zfs", "create", "tank/bm")
    for index in range(3):
        write("tank/bm", f"f{index}", f"{index}\n")
        take("tank/bm", time=START + timedelta(hours=index))
    first, second, third = managed("tank/bm")
    sh("zfs", "bookmark", f"tank/bm@{first}", "tank/bm#old")
    sh("zfs", "bookmark", f"tank/bm@{third}", "tank/bm#cursor")

    refused = zfstm("rollback", "bm", "--to", first, "--discard-newer", "--yes")
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "tank/bm#cursor" in refused.stderr and "never destroys bookmarks" in refused.stderr
    assert managed("tank/bm") == [first, second, third]
    assert sorted(bookmarks("tank/bm")) == ["cursor", "old"]

    now = stamp(START + timedelta(days=31))
    done = zfstm("rollback", "bm", "--to", first, "--yes", "--now", now)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tank/bm#cursor" in done.stdout and "stay with the kept dataset (tank/bm.before-rollback-" in done.stdout
    kept = next(line for line in sh("zfs", "list", "-H", "-o", "name").stdout.split() if "bm.before-rollback" in line)
    assert bookmarks("tank/bm") == ["old"]  # promoted along with the older snapshots
    assert bookmarks(kept) == ["cursor"]
    # retention never touches bookmarks
    pruned = zfstm("prune", kept, "--now", stamp(START + timedelta(days=90)), "--force")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert bookmarks(kept) == ["cursor"] and bookmarks("tank/bm") == ["old"]

    # what zfstm avoids: `zfs rollback -r` destroys newer bookmarks (and refuses without -r)
    sh("zfs", "create", "tank/bm2")
    sh("zfs", "snapshot", "tank/bm2@a")
    write("tank/bm2", "g", "g\n")
    sh("zfs", "snapshot", "tank/bm2@b")
    sh("zfs", "bookmark", "tank/bm2@b", "tank/bm2#b")
    sh("zfs", "destroy", "tank/bm2@b")
    plain = sh("zfs", "rollback", "tank/bm2@a", check=False)
    assert plain.returncode != 0 and "bookmarks" in plain.stderr, plain.stderr
    sh("zfs", "rollback", "-r", "tank/bm2@a")
    assert bookmarks("tank/bm2") == []


def test_after_known_good_hook_replicates_the_new_known_good_snapshot(pools: None) -> None:
    """A finished, verified Time Machine backup: the tick snapshots and holds it as known-good, then the hook
    (syncoid, given the dataset through ``{dataset}``) replicates it with its properties."""
    from tests.unit.timemachine.fixtures import NOW, BundleSpec, build_share

    sh("zfs", "create", "tank/hk")
    build_share(Path("/tank/hk"), BundleSpec())
    with CONFIG.open("a") as config:
        config.write(
            '\n[[targets]]\nname = "hk"\ndataset = "tank/hk"\n\n[hooks]\nafter_known_good = ["syncoid", "--quiet", '
            '"--no-privilege-elevation", "--sendoptions=p", "{dataset}", "backup/hk"]\ntimeout = "300s"\n'
        )
    done = zfstm("run", "hk", "--now", stamp(NOW))
    assert done.returncode == 0, done.stdout + done.stderr
    (taken,) = managed("tank/hk")
    assert "zfstm-known-good" in sh("zfs", "holds", "-H", f"tank/hk@{taken}").stdout
    assert managed("backup/hk") == [taken]
    assert prop(f"backup/hk@{taken}", "zfstm:tm-verification") == "ok"
    assert content("/backup/hk") == content("/tank/hk")
