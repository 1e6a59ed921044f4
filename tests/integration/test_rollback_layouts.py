"""Rollback keeps every CNID in the layouts real shares have (real OpenZFS, netatalk 4.2.3 and 3.1.12, a real
AFP client).

Layouts (``rollback_share``): ``default`` — no ``vol dbpath``, the database in netatalk's state directory, off ZFS
(strategy rebuild); ``nested`` — ``vol dbnest = yes``, the database inside the share (paired: it rolls back with
the files); ``shared`` — ``vol dbpath`` on a CNID dataset that holds another volume's database too (rebuild; the
CNID dataset is not rolled back and the other volume's records stay as they were). Each with ``cnid dev = yes`` and
``no``, the default swap and ``--discard-newer``. After each rollback: the snapshot's files, every file and directory
with its snapshot-time CNID over AFP (listed from the root and resolved by ID), the database agreeing, and a file
created afterwards getting a CNID above every CNID handed out before.

The suite runs eight cases covering each layout, each ``cnid dev`` and each mode once on 4.2, and the provisioned
layout and a rebuild on netatalk 3.1; the whole matrix (12 on 4.2, 12 on 3.1) with ``ZFSTM_LAYOUT_CASES=all``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from tests.integration import rollback_share as tm
from zfstm.netatalk.cniddb import read_cnid_database
from zfstm.testbed.guest_netatalk import AFP_CONF, netatalk_lockfile

pytestmark = pytest.mark.integration

BANDS = int(os.environ.get("ZFSTM_LAYOUT_BANDS", "150"))
EXPECTED = {"dataset": "paired", "default": "rebuild", "nested": "paired", "shared": "rebuild"}
SUITE = [
    ("default", True, "swap", "4.2"),
    ("default", False, "discard", "4.2"),
    ("nested", True, "discard", "4.2"),
    ("nested", False, "swap", "4.2"),
    ("shared", True, "swap", "4.2"),
    ("shared", False, "discard", "4.2"),
    # netatalk 3.1 (as SmartOS ships it) keeps [TM]'s case in $v: the layout zfstm provisions, and a rebuild from
    # 3.1's EAs (its default place would be inside the chroot, so not here)
    ("dataset", True, "swap", "3.1"),
    ("shared", True, "discard", "3.1"),
]
ALL = [
    (layout, dev, mode, version)
    for version in ("4.2", "3.1")
    for layout in EXPECTED
    if not (version == "3.1" and layout == "default")
    for dev in (True, False)
    for mode in ("swap", "discard")
]
CASES = ALL if os.environ.get("ZFSTM_LAYOUT_CASES") == "all" else SUITE


@pytest.fixture(
    params=CASES, ids=[f"{v}-{layout}-{'dev' if dev else 'nodev'}-{mode}" for layout, dev, mode, v in CASES]
)
def case(request: pytest.FixtureRequest) -> Iterator[tuple[tm.Share, str, bool, str]]:
    layout, dev, mode, version = request.param
    for share in tm.make_share(BANDS, cnid_dev=dev, layout=layout, version=version):
        yield share, layout, dev, mode


def test_every_cnid_is_kept_and_none_is_reused(case: tuple[tm.Share, str, bool, str]) -> None:
    share, layout, dev, mode = case
    flags = ["--last-good", "--yes", "--json", "--config", str(tm.CONFIG)]
    flags += ["--discard-newer"] if mode == "discard" else []
    plan = tm.zfstm("rollback", "tm", "--dry-run", *flags)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    decided = json.loads(plan.stdout)
    assert decided["strategy"] == EXPECTED[layout], decided["strategy_reason"]
    if EXPECTED[layout] == "rebuild":  # counted before anything runs: every file came over AFP, so none changes
        assert any("keep their CNIDs" in w for w in decided["warnings"]), decided["warnings"]
    cnid_root = share.db_dir.parent.parent
    other_db = next((p for p in cnid_root.iterdir() if p.name.lower() == "other"), cnid_root / "other") / ".AppleDB"
    other_before = None
    if layout == "shared":
        share.server.stop()
        other_before = read_cnid_database(other_db)
        share.server.start()
    t0 = time.monotonic()
    done = tm.zfstm("rollback", "tm", *flags)
    seconds = time.monotonic() - t0
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(done.stdout.splitlines()[-1])["results"]
    mark = results["read-counter"]["counter"]
    assert mark >= share.highest_cnid, results["read-counter"]
    if EXPECTED[layout] == "rebuild":
        rebuilt = results["rebuild-cnid"]
        assert rebuilt["new"] == 0 and rebuilt["skipped"] == 0, rebuilt  # every file came over AFP: all kept
        assert rebuilt["counter"] >= mark, rebuilt
    assert tm.manifest(tm.SHARE) == share.snapshot_manifest
    assert tm.every_cnid_kept(share) == {}
    assert tm.next_cnid(share, "after-rollback") > share.highest_cnid, "a CNID handed out before is handed out again"
    db = tm.read_database_stopped(share)
    assert tm.database_mismatches(share, db) == {}
    assert db.rootinfo is not None and db.rootinfo.last_cnid > share.highest_cnid
    if other_before is not None:
        share.server.stop()
        assert read_cnid_database(other_db).records == other_before.records
        share.server.start()
    tm.OUT.mkdir(parents=True, exist_ok=True)
    with (tm.OUT / "rollback-layouts.jsonl").open("a") as out:
        out.write(json.dumps({"layout": layout, "cnid_dev": dev, "mode": mode,
                              "seconds": seconds, "files": len(share.cnids), "results": results}) + "\n")  # fmt: skip


@pytest.fixture
def default_share() -> Iterator[tm.Share]:
    yield from tm.make_share(BANDS, cnid_dev=True, layout="default")


def test_migrate_moves_the_database_and_later_rollbacks_are_paired(default_share: tm.Share) -> None:
    """`zfstm cnid migrate tm` on a share whose database is at netatalk's default place: the database moves to
    tank/tm-cnid with every record and the counter, afp.conf points there, every CNID over AFP is unchanged and none
    is handed out again; with cnid_dataset configured, a snapshot taken afterwards is rolled back paired, every CNID
    kept."""
    share = default_share
    before = tm.cnids_over_afp(share)
    plan = tm.zfstm("cnid", "migrate", "tm", "--dry-run", "--json", "--config", str(tm.CONFIG))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    planned = json.loads(plan.stdout)
    assert planned["dataset"] == f"{tm.POOL}/tm-cnid" and planned["old_db_dir"] == str(tm.DB_DIRS["default"])
    done = tm.zfstm("cnid", "migrate", "tm", "--yes", "--json", "--config", str(tm.CONFIG))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"vol dbpath = /{tm.POOL}/tm-cnid/" in AFP_CONF.read_text()
    assert tm.cnids_over_afp(share) == before
    assert tm.next_cnid(share, "after-migrate") > share.highest_cnid
    moved = attrs.evolve(share, db_dir=Path(f"/{tm.POOL}/tm-cnid/.AppleDB"))
    db = tm.read_database_stopped(moved)
    assert db.rootinfo is not None and db.rootinfo.last_cnid > share.highest_cnid
    tm.write_config(netatalk_lockfile(), cnid_dataset=f"{tm.POOL}/tm-cnid")
    snap = tm.zfstm("snapshot", "tm", "--config", str(tm.CONFIG))
    assert snap.returncode == 0, snap.stdout + snap.stderr
    name = tm.sh("zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-s", "createtxg", f"{tm.POOL}/tm").stdout.split()
    at_snapshot = tm.cnids_over_afp(share)
    afp, vol = tm.afp_session()
    afp.write_file(vol, share.bands_did, "after-snapshot", b"z")
    afp.logout()
    afp.close()
    flags = ["--to", name[-1], "--yes", "--json", "--config", str(tm.CONFIG)]
    decided = json.loads(tm.zfstm("rollback", "tm", "--dry-run", *flags).stdout)
    assert decided["strategy"] == "paired", decided["strategy_reason"]
    rolled = tm.zfstm("rollback", "tm", *flags)
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert tm.cnids_over_afp(share) == at_snapshot
