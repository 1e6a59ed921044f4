"""The paired rollback of a share served with ``cnid dev = no`` (real OpenZFS, netatalk 4.2.3, a real AFP client).

With ``cnid dev = no`` the records carry no dev, so the plan raises only the counter (a copy of cnid2.db made to
stand alone, one record overwritten: no dump of the records) and re-points nothing. Proven here: files and CNIDs
as in the snapshot (AFP, database), a counter no lower than before, nothing re-pointed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from tests.integration.rollback_share import (
    CONFIG,
    DB_DIR,
    SHARE,
    Share,
    afp_session,
    check_cnids_over_afp,
    make_share,
    manifest,
    zfstm,
)
from zfstm.netatalk.check import record_paths
from zfstm.netatalk.cniddb import read_cnid_database

pytestmark = pytest.mark.integration

BANDS = int(os.environ.get("ZFSTM_ROLLBACK_DEVNO_BANDS", "300"))


@pytest.fixture(scope="module")
def share() -> Iterator[Share]:
    yield from make_share(BANDS, cnid_dev=False)


def test_cnid_dev_no_raises_only_the_counter_and_keeps_every_cnid(share: Share) -> None:
    plan = zfstm("rollback", "tm", "--last-good", "--dry-run", "--json", "--config", str(CONFIG))
    assert plan.returncode == 0, plan.stderr
    decided = json.loads(plan.stdout)
    assert decided["strategy"] == "paired", decided["strategy_reason"]
    raise_step = next(s for s in decided["steps"] if s["kind"] == "raise-counter")
    assert "share" not in raise_step["args"], raise_step
    install = next(s for s in decided["steps"] if s["id"] == "install-cnid")
    assert install["args"]["prepare_kind"] == "counter", install
    done = zfstm("rollback", "tm", "--last-good", "--yes", "--json", "--config", str(CONFIG))
    assert done.returncode == 0, done.stdout + done.stderr
    raised = json.loads(done.stdout.splitlines()[-1])["results"]["raise-counter"]
    assert raised["records_repointed"] == 0 and raised["after"] >= share.highest_cnid, raised
    assert manifest(SHARE) == share.snapshot_manifest
    check_cnids_over_afp(share)
    afp, vol = afp_session()
    fresh = afp.write_file(vol, share.bands_did, "after-rollback", b"x")
    afp.delete(vol, share.bands_did, "after-rollback")
    afp.logout()
    afp.close()
    assert fresh > share.highest_cnid, "a CNID handed out after the snapshot would be reused"
    share.server.stop()
    db = read_cnid_database(DB_DIR)
    share.server.start()
    assert {r.dev for r in db.records} == {0}
    paths, _ = record_paths(db.records)
    by_path = {p: c for c, p in paths.items()}
    assert {p: (c, by_path.get(p)) for p, c in share.cnids.items() if by_path.get(p) != c} == {}
