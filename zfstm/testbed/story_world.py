"""The props of the main job (zfstm.testbed.story): a Mac that backs up over AFP, the zfstm command, narration.

Only for the testbed guest. The Mac is played by the small AFP client in zfstm/testbed/afpclient.py: what must be
real is the server, its CNID database and its EAs. Time is simulated: each backup's Time Machine files carry the
simulated instant, and zfstm is told that instant with ``--now``; nothing waits.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import plistlib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from zfstm.cli.main import main as cli_main
from zfstm.testbed.afpclient import AfpClient
from zfstm.testbed.guest_netatalk import wait_listening

BUNDLE = "Mac.sparsebundle"
MACHINE_ID = "com.apple.TimeMachine.MachineID.plist"
HISTORY = "com.apple.TimeMachine.SnapshotHistory.plist"
ROOT_DID = 2
BAND_BYTES = 16 * 1024
HOST_UUID = "4C4C4544-0000-0000-0000-000000000000"


def say(text: str) -> None:
    print(f"\n▶ {text}", flush=True)


def note(text: str) -> None:
    print(f"  {text}", flush=True)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def show(argv: list[str], *, check: bool = True, last: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, echo it and its output (indented; only the ``last`` lines if given) and return it."""
    shown = ["zfstm", *argv[3:]] if argv[:3] == [sys.executable, "-m", "zfstm.cli.main"] else argv
    print(f"$ {' '.join(shown)}", flush=True)
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    lines = (done.stdout + done.stderr).rstrip("\n").split("\n")
    for line in lines[-last:] if last else lines:
        if line:
            print(f"  {line}", flush=True)
    if check and done.returncode != 0:
        raise SystemExit(f"story stopped: {shown[0]} {shown[1] if len(shown) > 1 else ''} exited {done.returncode}")
    return done


def zfstm(*argv: str) -> list[str]:
    return [sys.executable, "-m", "zfstm.cli.main", *argv]


def zfstm_json(*argv: str) -> dict[str, Any]:
    """Run a zfstm verb with --json quietly and return its document (exit codes other than 0 are allowed).

    In this process, through the command's own entry point (``zfstm.cli.main.main``): the story runs it many
    times, and starting Python in the emulated VM costs seconds each time.
    """
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main([*argv, "--json"])
    try:
        document: dict[str, Any] = json.loads(out.getvalue())
    except json.JSONDecodeError:
        raise SystemExit(f"story stopped: zfstm {' '.join(argv)} said: {out.getvalue()}{err.getvalue()}") from None
    document["_exit"] = code
    return document


def machine_id(state: int, when: datetime) -> bytes:
    """MachineID.plist as Time Machine leaves it: 1 = verified, 2 = verification failed."""
    fields = {
        "VerificationState": state,
        "VerificationDate": when.replace(tzinfo=None),
        "com.apple.backupd.HostUUID": HOST_UUID,
    }
    return plistlib.dumps(fields)


def history(completions: list[datetime]) -> bytes:
    entries = [
        {"com.apple.backupd.SnapshotCompletionDate": c.replace(tzinfo=None),
         "com.apple.backupd.SnapshotName": c.strftime("%Y-%m-%d-%H%M%S.backup")}
        for c in completions
    ]  # fmt: skip
    return plistlib.dumps({"Snapshots": entries})


INFO = plistlib.dumps({
    "CFBundleInfoDictionaryVersion": "6.0", "band-size": 8 * 1024 * 1024, "bundle-backingstore-version": 1,
    "diskimage-bundle-type": "com.apple.diskimage.sparsebundle", "size": 2 * 1024**3,
})  # fmt: skip


@contextmanager
def afp_volume(volume: str = "tm") -> Iterator[tuple[AfpClient, int]]:
    """A logged-in AFP session (user tmuser) with the Time Machine volume open; logs out at the end."""
    wait_listening()
    afp = AfpClient()
    try:
        afp.login("tmuser", "tmpass")
        name = next(n for n in afp.volume_names() if n.lower() == volume.lower())
        yield afp, afp.open_volume(name)
        afp.logout()
    finally:
        afp.close()


@attrs.define
class Mac:
    """The Mac: writes its sparsebundle over AFP and remembers every CNID the server handed out."""

    share: Path
    completions: list[datetime] = attrs.Factory(list)
    next_band: int = 0
    highest_cnid: int = 0

    def _dirs(self, afp: AfpClient, vol: int) -> tuple[int, int]:
        found = {e.name: e.node_id for e in afp.enumerate(vol, ROOT_DID)}
        if BUNDLE not in found:
            bundle = afp.create_dir(vol, ROOT_DID, BUNDLE)
            self._seen(bundle, afp.write_file(vol, bundle, "Info.plist", INFO))
            self._seen(afp.write_file(vol, bundle, "token", b""))
            return bundle, self._seen(afp.create_dir(vol, bundle, "bands"))
        bundle = found[BUNDLE]
        inside = {e.name: e.node_id for e in afp.enumerate(vol, bundle)}
        return bundle, inside["bands"]

    def _seen(self, *cnids: int) -> int:
        self.highest_cnid = max(self.highest_cnid, *cnids)
        return cnids[-1]

    def _replace(self, afp: AfpClient, vol: int, did: int, name: str, data: bytes) -> None:
        """Time Machine rewrites its plists (write a new file, rename over): a new file, so a new CNID."""
        if name in {e.name for e in afp.enumerate(vol, did)}:
            afp.delete(vol, did, name)
        self._seen(afp.write_file(vol, did, name, data))

    def backup(self, when: datetime, bands: int, *, verified: bool = True) -> None:
        """Write ``bands`` new bands, then record a completed (verified) backup at ``when``."""
        with afp_volume() as (afp, vol):
            bundle, bands_did = self._dirs(afp, vol)
            for index in range(self.next_band, self.next_band + bands):
                self._seen(afp.write_file(vol, bands_did, f"{index:x}", os.urandom(BAND_BYTES)))
            self.next_band += bands
            self.completions.append(when)
            self._replace(afp, vol, bundle, HISTORY, history(self.completions))
            self._replace(afp, vol, bundle, MACHINE_ID, machine_id(1 if verified else 2, when))
        self.date_files(when - timedelta(minutes=1))

    def date_files(self, when: datetime) -> None:
        """Simulated time: the files carry the simulated instant of the backup that wrote them."""
        stamp = when.timestamp()
        for path in [self.share / BUNDLE, *(self.share / BUNDLE).rglob("*")]:
            os.utime(path, (stamp, stamp))

    def tree(self) -> dict[str, int]:
        """Every path in the share (below the bundle) -> its CNID, as the server reports it over AFP."""
        out: dict[str, int] = {}
        with afp_volume() as (afp, vol):
            pending = [(ROOT_DID, "")]
            while pending:
                did, prefix = pending.pop()
                for entry in afp.enumerate(vol, did):
                    path = f"{prefix}{entry.name}"
                    out[path] = entry.node_id
                    if entry.is_dir:
                        pending.append((entry.node_id, f"{path}/"))
        return out

    def resolve(self, cnids: dict[str, int]) -> list[str]:
        """FPResolveID of each CNID (what a Mac does with a remembered file ID): paths whose ID no longer resolves."""
        wrong = []
        with afp_volume() as (afp, vol):
            for path, cnid in cnids.items():
                try:
                    entry = afp.resolve_id(vol, cnid)
                except Exception:  # any AFP error means the ID is lost
                    wrong.append(path)
                    continue
                if entry.name != path.rsplit("/", 1)[-1]:
                    wrong.append(path)
        return wrong

    def new_file_cnid(self) -> int:
        """Create and delete a file at the share's top: the CNID the server hands out next."""
        with afp_volume() as (afp, vol):
            cnid = afp.write_file(vol, ROOT_DID, "after-rollback", b"x")
            afp.delete(vol, ROOT_DID, "after-rollback")
        return cnid
