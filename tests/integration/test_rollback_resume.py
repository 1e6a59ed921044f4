"""Kill `zfstm rollback` at every step boundary (the journal's fault hook); `--resume` must complete each time.

Real OpenZFS, real netatalk 4.2.3, a real AFP client, on the broken share of ``rollback_share`` with a few bands
(the steps' cost does not depend on the number of files: clone, promote and rename are constant-time in ZFS; the
2,000-file proof is test_rollback.py). Each boundary's resume time goes to $ZFSTM_TESTBED_OUT/rollback-resume.json
as it completes. By default every boundary is tried; the CI suite runs every step once (see ``boundaries``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest

from tests.integration.rollback_share import (
    CONFIG,
    OUT,
    SHARE,
    STATE,
    Share,
    break_share,
    check_cnids_over_afp,
    make_share,
    manifest,
    zfstm,
)
from zfstm.rollback.journal import unfinished_rollbacks
from zfstm.rollback.runner import FAULT_ENV, FAULT_EXIT

pytestmark = pytest.mark.integration

BANDS = int(os.environ.get("ZFSTM_RESUME_BANDS", "100"))
#: Where the share's CNID database lives (rollback_share's layouts): ``dataset`` gives the paired plan; a module that
#: imports this test with its own LAYOUT = "default" (netatalk's default place, off ZFS) the rebuild plan
#: (test_rollback_resume_rebuild.py).
LAYOUT = "dataset"
#: The fewest steps the plan of each layout has (paired: stop, counter, both datasets swapped, raise, start, verify;
#: rebuild: stop, counter, the share swapped, rebuild, start, verify).
MIN_STEPS = {"dataset": 10, "default": 9}


@pytest.fixture(scope="module")
def share(request: pytest.FixtureRequest) -> Iterator[Share]:
    yield from make_share(BANDS, layout=request.module.LAYOUT)


def boundaries(layout: str) -> list[str]:
    """The step boundaries of the plan the dry run prints: right after each step's "before" record and after the step.

    ``ZFSTM_ROLLBACK_BOUNDARIES``: unset or ``all`` for every boundary (26 for the paired swap, ~35 min in the
    emulated testbed); ``alternate`` for every step once, alternating "before" and after (what the CI suite runs);
    or a comma-separated list such as ``clone-data:before,verify``.
    """
    chosen = os.environ.get("ZFSTM_ROLLBACK_BOUNDARIES", "all")
    if chosen not in ("all", "alternate"):
        return chosen.split(",")
    plan = zfstm("rollback", "tm", "--last-good", "--dry-run", "--json", "--config", str(CONFIG))
    assert plan.returncode == 0, plan.stderr
    steps = [step["id"] for step in json.loads(plan.stdout)["steps"]]
    assert len(steps) >= MIN_STEPS[layout], steps
    if chosen == "alternate":
        return [f"{step}:before" if index % 2 == 0 else step for index, step in enumerate(steps)]
    return [boundary for step in steps for boundary in (f"{step}:before", step)]


def test_killed_at_every_step_boundary_resume_completes(share: Share, request: pytest.FixtureRequest) -> None:
    """For each step boundary: break the share, run the rollback with the fault hook (the process dies there),
    see it listed as unfinished, `--resume`, and find the snapshot's files, its CNIDs and a serving server."""
    results = {}
    for boundary in boundaries(request.module.LAYOUT):
        break_share()
        time.sleep(1.1)  # new dataset names carry the time to the second
        died = zfstm("rollback", "tm", "--last-good", "--yes", "--config", str(CONFIG), env={FAULT_ENV: boundary})
        assert died.returncode == FAULT_EXIT, (boundary, died.stdout, died.stderr)
        assert [u.target for u in unfinished_rollbacks(STATE)] == ["tm"], boundary
        t0 = time.monotonic()
        resumed = zfstm("rollback", "tm", "--resume", "--yes", "--config", str(CONFIG))
        results[boundary] = time.monotonic() - t0
        assert resumed.returncode == 0, (boundary, resumed.stdout, resumed.stderr)
        assert unfinished_rollbacks(STATE) == []
        assert manifest(SHARE) == share.snapshot_manifest, boundary
        check_cnids_over_afp(share, sample=10)
        (OUT / "rollback-resume.json").write_text(json.dumps(results, indent=1))
