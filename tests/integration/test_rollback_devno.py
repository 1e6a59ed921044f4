"""The paired rollback of a share served with ``cnid dev = no`` (real OpenZFS, netatalk 4.2.3, a real AFP client).

With ``cnid dev = no`` the records carry no dev, so the plan raises only the counter (a copy of cnid2.db made to
stand alone, one record overwritten: no dump of the records; prepared while the share is swapped) and re-points
nothing. Proven here: files and CNIDs as in the snapshot (AFP, database), a counter no lower than before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from tests.integration import rollback_share as tm

pytestmark = pytest.mark.integration

BANDS = int(os.environ.get("ZFSTM_ROLLBACK_DEVNO_BANDS", "300"))


@pytest.fixture(scope="module")
def share() -> Iterator[tm.Share]:
    yield from tm.make_share(BANDS, cnid_dev=False)


def test_cnid_dev_no_raises_only_the_counter_and_keeps_every_cnid(share: tm.Share) -> None:
    plan = tm.zfstm("rollback", "tm", "--last-good", "--dry-run", "--json", "--config", str(tm.CONFIG))
    assert plan.returncode == 0, plan.stderr
    decided = json.loads(plan.stdout)
    assert decided["strategy"] == "paired", decided["strategy_reason"]
    steps = {s["id"]: s for s in decided["steps"]}
    assert "share" not in steps["raise-counter"]["args"], steps["raise-counter"]
    assert steps["install-cnid"]["args"]["prepare_kind"] == "counter", steps["install-cnid"]
    done = tm.zfstm("rollback", "tm", "--last-good", "--yes", "--json", "--config", str(tm.CONFIG))
    assert done.returncode == 0, done.stdout + done.stderr
    raised = json.loads(done.stdout.splitlines()[-1])["results"]["raise-counter"]
    assert raised["records_repointed"] == 0 and raised["after"] >= share.highest_cnid, raised
    assert tm.manifest(tm.SHARE) == share.snapshot_manifest
    tm.check_cnids_over_afp(share)
    assert tm.next_cnid(share, "after-rollback") > share.highest_cnid, "a CNID from after the snapshot is reused"
    db = tm.read_database_stopped(share)
    assert {r.dev for r in db.records} == {0}
    assert tm.database_mismatches(share, db) == {}
