"""File events on SnapshotHistory.plist (inotify) with netatalk sending no session events (as before 3.1.4).

afp.conf has no ``fce`` lines; the daemon listens (``[events]``) and watches the share. A "Mac" makes its bundle
(watched from the moment it appears), writes bands and a new SnapshotHistory.plist, stays logged in a moment (as
Time Machine does while it unmounts), and logs out: the daemon hears the history written, counts the afpd session,
sees it gone, and takes the known-good snapshot at once (the quiet period is an hour). Then the Mac writes the
same history again (a plist change, no new completion) and logs out: the daemon sees the same session end and
looks, and takes nothing. The seconds from logout to the hold go to /out (not asserted).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from tests.integration.test_events import (
    OUT,
    POOL,
    PORT,
    WORK,
    Daemon,
    config_text,
    fresh_datasets,
    start_daemon,
    stop_daemon,
)
from tests.integration.test_lifecycle import Mac, held, snapshots
from tests.unit.timemachine.fixtures import history_plist
from zfstm.testbed.guest_netatalk import afp_conf_text, netatalk
from zfstm.timemachine.history import HISTORY_PLIST

pytestmark = pytest.mark.integration

#: A moment logged in after the history, so that the daemon's count sees the session open (Time Machine, too,
#: unmounts a while after it wrote the history); not a timing assertion.
LINGER = 3.0


@attrs.define
class World:
    daemon: Daemon
    mac: Mac
    data: str
    cnid: str
    results: dict[str, Any]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    root = "files"
    work = WORK / root
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    OUT.mkdir(parents=True, exist_ok=True)
    fresh_datasets(root, "tm", "cnid")
    data, cnid = f"{POOL}/{root}/tm", f"{POOL}/{root}/cnid"
    server = netatalk("4.2")
    server.start(afp_conf_text(POOL, root), POOL)  # no fce lines: no session events from netatalk
    results: dict[str, Any] = {}
    daemon: Daemon | None = None
    mac = Mac()
    try:
        # On the empty share (the first tick takes the first snapshot); the Mac's bundle is made while the daemon
        # watches the share, so its watch is the one added for a new bundle.
        daemon = start_daemon(work, config_text(work, PORT, "tm", data, cnid, "netatalk"))
        assert "SnapshotHistory.plist (inotify" in daemon.log
        yield World(daemon, mac, data, cnid, results)
    finally:
        try:
            if daemon is not None:
                stop_daemon(daemon, results)
        finally:
            (OUT / "events-files.json").write_text(json.dumps(results, indent=2, default=str))
            server.stop()
            server.release(POOL)


def test_a_new_history_and_the_session_gone_take_the_known_good_snapshot(world: World) -> None:
    before = {s["name"] for s in snapshots(world.data)}
    mark = len(world.daemon.lines)
    world.mac.connect()
    world.mac.write_bands(3)
    world.mac.finish(verification_state=1)
    world.daemon.wait_for("watching for the session end", after=mark)
    time.sleep(LINGER)
    logout = time.monotonic()
    world.mac.disconnect()
    index = world.daemon.wait_for("snapshot taken on the session end", after=mark)
    world.results["latency_s"] = round(world.daemon.arrived[index] - logout, 2)
    log = "".join(world.daemon.lines[mark : index + 1])
    world.results["log"] = log
    assert "the last session let go of the share" in log
    new = [s for s in snapshots(world.data) if s["name"] not in before]
    assert len(new) == 1, world.daemon.log
    assert new[0]["zfstm:trigger"] == "completion"
    assert held(world.data) == [new[0]["name"]]
    assert held(world.cnid) == [snapshots(world.cnid)[-1]["name"]]


def test_the_same_history_written_again_takes_nothing(world: World) -> None:
    """A plist change without a newer completion, and the session end: the daemon looks, the detector says no."""
    before, hold = snapshots(world.data), held(world.data)
    mark = len(world.daemon.lines)
    world.mac.connect()
    world.mac.put(world.mac.bundle, HISTORY_PLIST, history_plist(world.mac.completions))  # no new completion
    world.daemon.wait_for("watching for the session end", after=mark)
    time.sleep(LINGER)
    world.mac.disconnect()
    index = world.daemon.wait_for("the last session let go of the share", after=mark)
    world.daemon.wait_for("tick:", after=index)
    time.sleep(3)  # a look repeated meanwhile must not take one either
    log = "".join(world.daemon.lines[mark:])
    world.results["unchanged_log"] = log
    assert "snapshot taken on the session end" not in log
    assert snapshots(world.data) == before
    assert held(world.data) == hold
