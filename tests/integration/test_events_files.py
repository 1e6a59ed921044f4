"""File events on SnapshotHistory.plist (inotify) with netatalk sending no session events (as before 3.1.4).

afp.conf has no ``fce`` lines; the daemon listens (``[events]``) and watches the share. A "Mac" makes its bundle
(watched from the moment it appears), writes bands and a new SnapshotHistory.plist, stays logged in a moment (as
Time Machine does while it unmounts), and logs out: the daemon hears the history written, counts the afpd session,
sees it gone, and takes the known-good snapshot at once (the quiet period is an hour). Then the Mac writes the
same history again (a plist change, no new completion) and logs out: the daemon sees the same session end and
looks, and takes nothing. The seconds from logout to the hold go to /out (not asserted).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.integration.test_events import World, afp_world, one_known_good
from tests.integration.test_lifecycle import held, snapshots
from tests.unit.timemachine.fixtures import history_plist
from zfstm.timemachine.history import HISTORY_PLIST

pytestmark = pytest.mark.integration

#: A moment logged in after the history, so that the daemon's count sees the session open (Time Machine, too,
#: unmounts a while after it wrote the history); not a timing assertion.
LINGER = 3.0


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    # No fce lines: no session events from netatalk. The daemon starts on the empty share (its first tick takes
    # the first snapshot); the Mac's bundle is made while the daemon watches, so its watch is the one added for a
    # new bundle.
    with afp_world("4.2", "files", fce=False, out="events-files.json") as world:
        assert "SnapshotHistory.plist (inotify" in world.daemon.log
        yield world


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
    world.results["new"] = one_known_good(world.daemon, world.data, world.cnid, before)


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
