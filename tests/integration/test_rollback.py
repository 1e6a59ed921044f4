"""`zfstm rollback --last-good` against real OpenZFS and real netatalk 4.2.3, with a real AFP client.

On the broken share of ``rollback_share`` (>= 2,000 bands written over AFP), ``zfstm rollback tm --last-good
--yes`` must give back the snapshot's files, every CNID the files had then (database, EA, FPResolveID over AFP), a
counter no lower than before, the newer snapshots in the kept dataset, and a server that logs in and lists the
share. Timings and counts go to $ZFSTM_TESTBED_OUT/rollback.json.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.rollback_share import (
    BUNDLE,
    CONFIG,
    MACHINE_ID,
    OUT,
    POOL,
    SHARE,
    Share,
    check_cnids_over_afp,
    database_mismatches,
    make_share,
    manifest,
    next_cnid,
    plist,
    read_database_stopped,
    sh,
    zfstm,
)
from zfstm.netatalk.scan import read_metadata_ea

pytestmark = pytest.mark.integration

BANDS = int(os.environ.get("ZFSTM_ROLLBACK_BANDS", "2000"))


@pytest.fixture(scope="module")
def share() -> Iterator[Share]:
    yield from make_share(BANDS)


def test_rollback_last_good_restores_files_cnids_counter_and_service(share: Share) -> None:
    """After `zfstm rollback --last-good`: files equal the snapshot's, every file keeps its snapshot-time CNID
    (AFP, database, EA), the counter is not lower than before and new files get higher CNIDs, the newer snapshots
    are reachable in the kept dataset, and the server logs in and lists the share."""
    plan = zfstm("rollback", "tm", "--last-good", "--dry-run", "--json", "--config", str(CONFIG))
    assert plan.returncode == 0, plan.stderr
    decided = json.loads(plan.stdout)
    assert decided["strategy"] == "paired", decided["strategy_reason"]
    t0 = time.monotonic()
    done = zfstm("rollback", "tm", "--last-good", "--yes", "--config", str(CONFIG))
    seconds = time.monotonic() - t0
    assert done.returncode == 0, done.stdout + done.stderr
    # The kept dataset's name carries the time of the real run (not of the dry run): ZFS says which it is.
    kept = sh("zfs", "get", "-H", "-o", "value", "zfstm:rollback-before", f"{POOL}/tm").stdout.strip()
    assert kept.startswith(f"{POOL}/tm.before-rollback-"), kept
    assert manifest(SHARE) == share.snapshot_manifest
    check_cnids_over_afp(share)
    assert next_cnid(share, "after-rollback") > share.highest_cnid, "a CNID from after the snapshot is reused"
    db = read_database_stopped(share)
    assert database_mismatches(share, db) == {}
    wrong_ea = [p for p, c in share.cnids.items() if (ea := read_metadata_ea(SHARE / p)) is None or ea.cnid != c]
    assert wrong_ea == []
    assert db.rootinfo is not None and db.rootinfo.last_cnid >= share.highest_cnid
    snaps = sh("zfs", "list", "-H", "-o", "name", "-t", "snapshot", kept).stdout.split()
    assert f"{kept}@later" in snaps
    assert (Path(f"/{kept}") / BUNDLE / MACHINE_ID).read_bytes() == plist(2)
    props = sh("zfs", "get", "-H", "-o", "value", "compression,refquota,zfstm:note", f"{POOL}/tm").stdout
    assert props.split("\n")[:3] == ["lz4", "10G", "tm share"]
    (OUT / "rollback.json").write_text(
        json.dumps({"rollback_seconds": seconds, "files": len(share.cnids), "counter": db.rootinfo.last_cnid,
                    "highest_before": share.highest_cnid, "stdout": done.stdout, "stderr": done.stderr[-2000:]})
    )  # fmt: skip


def test_discard_newer_rolls_back_in_place_and_still_repoints_the_records(share: Share) -> None:
    """`--discard-newer` rolls back in place: the share keeps its mount and st_dev, but the snapshot's records carry
    the dev of the mount at snapshot time (before the swap of the test above), so the plan still re-points them;
    every file keeps its CNID over AFP, and a CNID handed out just before the rollback is never handed out again."""
    handed_out = next_cnid(share, "before-discard", keep=True)
    plan = zfstm("rollback", "tm", "--last-good", "--discard-newer", "--dry-run", "--json", "--config", str(CONFIG))
    assert plan.returncode == 0, plan.stderr
    raise_step = next(s for s in json.loads(plan.stdout)["steps"] if s["kind"] == "raise-counter")
    assert raise_step["args"].get("share") == str(SHARE), raise_step
    dev_before = SHARE.stat().st_dev
    done = zfstm("rollback", "tm", "--last-good", "--discard-newer", "--yes", "--json", "--config", str(CONFIG))
    assert done.returncode == 0, done.stdout + done.stderr
    assert SHARE.stat().st_dev == dev_before
    assert json.loads(done.stdout.splitlines()[-1])["results"]["raise-counter"]["records_repointed"] > 0
    assert manifest(SHARE) == share.snapshot_manifest
    check_cnids_over_afp(share)
    fresh = next_cnid(share, "after-discard")
    assert fresh > handed_out, f"CNID {fresh} after the rollback, {handed_out} was handed out before it"
