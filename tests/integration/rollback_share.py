"""The broken Time Machine share the rollback integration tests start from (real OpenZFS, netatalk, AFP).

A sparsebundle with N bands and plists is written over AFP on tank/tm, its CNID database where the layout puts it:
``dataset`` (``vol dbpath`` on tank/cnid, what zfstm provisions), ``default`` (no dbpath: netatalk's state
directory, off ZFS), ``nested`` (``vol dbnest = yes``: inside the share) or ``shared`` (tank/cnid holds a second
volume's database too). The datasets are snapshotted in one atomic call (same txg) while netatalk runs, the snapshot
is held as known-good, the share is changed further over AFP (new files, a newer atomic snapshot, more new files,
files deleted and files overwritten), then broken behind netatalk (MachineID.plist VerificationState 2, bands
deleted and overwritten).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs

from zfstm.netatalk.check import record_paths
from zfstm.netatalk.cnid import CnidDatabase
from zfstm.netatalk.cniddb import read_cnid_database
from zfstm.service.pidfile import PidfileControl
from zfstm.testbed.afpclient import AfpClient
from zfstm.testbed.guest_netatalk import AFP_CONF, Netatalk, netatalk, wait_listening

POOL = os.environ.get("ZFSTM_TESTBED_POOL", "tank")
OUT = Path(os.environ.get("ZFSTM_TESTBED_OUT", "/tmp/work/out"))
WORK = Path("/tmp/work")
SHARE = Path(f"/{POOL}/tm")
DB_DIR = Path(f"/{POOL}/cnid/tm/.AppleDB")
#: Where each layout puts the volume's database (Debian's netatalk 4.2.3: state directory /var/lib/netatalk/).
DB_DIRS = {
    "dataset": DB_DIR,
    "default": Path("/var/lib/netatalk/CNID/tm/.AppleDB"),
    "nested": SHARE / ".AppleDB",
    "shared": DB_DIR,
}
OTHER = Path(f"/{POOL}/other")
CONFIG = WORK / "zfstm.toml"
STATE = WORK / "state"
BUNDLE = "mac.sparsebundle"
MACHINE_ID = "com.apple.TimeMachine.MachineID.plist"


def plist(state: int) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict>'
        f"<key>VerificationState</key><integer>{state}</integer>"
        "<key>com.apple.backupd.HostUUID</key><string>4C4C4544-0000-0000-0000-000000000000</string>"
        "</dict></plist>\n"
    ).encode()


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check)


def zfstm(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command line as a separate process (so the fault hook's os._exit kills only it)."""
    return subprocess.run(
        [sys.executable, "-m", "zfstm.cli.main", *argv], capture_output=True, text=True, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def afp_conf(layout: str, *, cnid_dev: bool) -> str:
    """afp.conf for volume ``TM`` on tank/tm with its database where ``layout`` puts it (see the module docstring)."""
    glob = {
        "dataset": f"vol dbpath = /{POOL}/cnid/$v/\n",
        "default": "",
        "nested": "vol dbnest = yes\n",
        "shared": f"vol dbpath = /{POOL}/cnid/$v/\n",
    }[layout]
    other = f"\n[Other]\npath = {OTHER}\n" if layout == "shared" else ""
    return (
        "[Global]\nuam list = uams_clrtxt.so uams_dhx2.so\n" + glob + "log file = /tmp/work/netatalk.log\n\n"
        f"[TM]\npath = {SHARE}\ntime machine = yes\n" + ("" if cnid_dev else "cnid dev = no\n") + other
    )


def manifest(root: Path) -> dict[str, str]:
    """relative path -> sha256 of every file (directories as 'dir'), without .zfs and netatalk's .AppleDB."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in {".zfs", ".AppleDB"}]
        here = Path(dirpath)
        for name in dirnames:
            out[str((here / name).relative_to(root))] = "dir"
        for name in filenames:
            out[str((here / name).relative_to(root))] = hashlib.sha256((here / name).read_bytes()).hexdigest()
    return out


@attrs.frozen
class Share:
    server: PidfileControl
    cnids: dict[str, int]  # every path that existed in the known-good snapshot -> its CNID then
    snapshot_manifest: dict[str, str]
    highest_cnid: int  # the highest CNID handed out before the rollback
    bands_did: int
    db_dir: Path = DB_DIR


def afp_session(volume: str = "tm") -> tuple[AfpClient, int]:
    wait_listening()
    afp = AfpClient()
    afp.login("tmuser", "tmpass")
    name = next(n for n in afp.volume_names() if n.lower() == volume)
    return afp, afp.open_volume(name)


def write_config(
    lockfile: Path, *, cnid_dataset: str | None = f"{POOL}/cnid", start: tuple[str, ...] = ("netatalk",),
    afp_conf_path: Path = AFP_CONF,
) -> None:  # fmt: skip
    CONFIG.write_text(
        f'state_dir = "{STATE}"\nrun_dir = "{WORK / "run"}"\n\n'
        '[backend]\nkind = "cli"\n\n'
        '[file_server]\nkind = "netatalk"\nadapter = "pidfile"\n'
        f'service = "{lockfile}"\nstart = {json.dumps(list(start))}\nprogram = "netatalk"\n'
        f'afp_conf = "{afp_conf_path}"\n\n'
        f'[[targets]]\nname = "tm"\ndataset = "{POOL}/tm"\n'
        + (f'cnid_dataset = "{cnid_dataset}"\n' if cnid_dataset else "")
    )


def break_share() -> None:
    """What a failed verification leaves: VerificationState 2, bands gone, bands overwritten (behind netatalk)."""
    (SHARE / BUNDLE / MACHINE_ID).write_bytes(plist(2))
    bands = sorted((SHARE / BUNDLE / "bands").iterdir())
    for band in bands[:100]:
        band.unlink()
    for band in bands[100:200]:
        band.write_bytes(b"garbage" * 100)


@contextlib.contextmanager
def installed(version: str) -> Iterator[Netatalk]:
    """netatalk ``version`` as if it were the one installed: for 3.1 (a bullseye root served with chroot) the
    guest's ``afpd`` is covered by one that runs the chroot's, so zfstm's ``afpd -V`` sees 3.1 as on a SmartOS
    host; undone afterwards."""
    nt = netatalk(version)
    if not nt.chrooted:
        yield nt
        return
    nt.prepare(POOL)
    wrapper = WORK / "afpd-3.1"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text(f'#!/bin/sh\nexec chroot {nt.root} afpd "$@"\n')
    wrapper.chmod(0o755)
    afpd = shutil.which("afpd") or "/usr/sbin/afpd"
    sh("mount", "--bind", str(wrapper), afpd)
    try:
        yield nt
    finally:
        sh("umount", afpd, check=False)
        nt.release(POOL)


def db_dir_of(layout: str, version: str) -> Path:
    """Where netatalk ``version`` puts volume ``[TM]``'s database (3.1 keeps the section's case in ``$v``)."""
    path = DB_DIRS[layout]
    return Path(str(path).replace("/tm/.AppleDB", "/TM/.AppleDB")) if version == "3.1" and layout != "nested" else path


def make_share(
    bands_count: int, *, cnid_dev: bool = True, layout: str = "dataset", version: str = "4.2"
) -> Iterator[Share]:
    """Build the broken share (see the module docstring), served by netatalk ``version`` with ``cnid dev = yes``
    (netatalk's default) or ``no``; yields it with netatalk running, stops it after and removes what it made (so
    that a module can build the next one). With 3.1 only layouts on the pool (not ``default``: its database would be
    inside the chroot)."""
    with installed(version) as nt:
        yield from _make_share(bands_count, cnid_dev=cnid_dev, layout=layout, nt=nt)


def _make_share(bands_count: int, *, cnid_dev: bool, layout: str, nt: Netatalk) -> Iterator[Share]:
    OUT.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    group = sh("id", "-gn", "tmuser").stdout.strip()
    sh("zfs", "create", "-o", "compression=lz4", "-o", "refquota=10G", f"{POOL}/tm")
    sh("zfs", "create", f"{POOL}/cnid")
    if layout == "shared":
        sh("zfs", "create", f"{POOL}/other")
        shutil.chown(OTHER, user="tmuser", group=group)
    sh("zfs", "set", "zfstm:note=tm share", f"{POOL}/tm")
    shutil.chown(SHARE, user="tmuser", group=group)
    shutil.rmtree(DB_DIRS["default"].parent, ignore_errors=True)  # a default-place database of an earlier share
    nt.afp_conf.parent.mkdir(parents=True, exist_ok=True)
    nt.afp_conf.write_text(afp_conf(layout, cnid_dev=cnid_dev))
    server = nt.server()
    write_config(
        server.pidfile, cnid_dataset=f"{POOL}/cnid" if layout in {"dataset", "shared"} else None,
        start=tuple(nt.command("netatalk")), afp_conf_path=nt.afp_conf,
    )  # fmt: skip
    server.start()
    cnids: dict[str, int] = {}
    t0 = time.monotonic()
    afp, vol = afp_session()
    bundle = afp.create_dir(vol, 2, BUNDLE)
    cnids[BUNDLE] = bundle
    for leaf, data in (
        ("Info.plist", b"<plist/>\n"),
        ("Info.bckup", b"<plist/>\n"),
        ("token", b""),
        (MACHINE_ID, plist(1)),
    ):
        cnids[f"{BUNDLE}/{leaf}"] = afp.write_file(vol, bundle, leaf, data)
    bands = afp.create_dir(vol, bundle, "bands")
    cnids[f"{BUNDLE}/bands"] = bands
    for i in range(bands_count):
        cnids[f"{BUNDLE}/bands/{i:x}"] = afp.write_file(vol, bands, f"{i:x}", bytes([i % 256]) * 1024)
    timings["create_seconds"] = time.monotonic() - t0
    afp.logout()
    afp.close()
    # Atomic snapshot of data and CNID database while netatalk runs, held as known-good.
    sh("zfs", "snapshot", f"{POOL}/tm@good", f"{POOL}/cnid@good")
    sh("zfs", "hold", "zfstm-known-good", f"{POOL}/tm@good")
    good_manifest = manifest(SHARE / ".zfs/snapshot/good")
    # Changed further: new files over AFP, a newer atomic snapshot, more files.
    afp, vol = afp_session()
    later: dict[str, int] = {}
    for i in range(bands_count, bands_count + 200):
        later[f"{BUNDLE}/bands/{i:x}"] = afp.write_file(vol, bands, f"{i:x}", b"new" * 100)
    sh("zfs", "snapshot", f"{POOL}/tm@later", f"{POOL}/cnid@later")
    for i in range(bands_count + 200, bands_count + 300):
        later[f"{BUNDLE}/bands/{i:x}"] = afp.write_file(vol, bands, f"{i:x}", b"newer" * 100)
    # over AFP, so netatalk drops their records: the snapshot's EAs are then the only word on their CNIDs
    for i in range(0, min(50, bands_count)):
        afp.delete(vol, bands, f"{i:x}")
    for i in range(50, min(80, bands_count)):
        later[f"{BUNDLE}/bands/{i:x}"] = afp.write_file(vol, bands, f"{i:x}", b"overwritten" * 50)
    afp.logout()
    afp.close()
    if layout == "shared":  # the other volume's database on tank/cnid must come through untouched
        afp, vol = afp_session("other")
        afp.write_file(vol, 2, "other-file", b"other")
        afp.logout()
        afp.close()
    break_share()
    highest = max([*cnids.values(), *later.values()])
    (OUT / "rollback-setup.json").write_text(json.dumps({**timings, "files": len(cnids), "highest": highest}))
    yield Share(server, cnids, good_manifest, highest, bands, db_dir_of(layout, nt.version))
    server.stop()
    if STATE.is_dir():  # the journals (with each step's time) for whoever reads the test's output
        where = OUT / f"journals-{nt.version}-{layout}-{'dev' if cnid_dev else 'nodev'}"
        shutil.copytree(STATE, where, dirs_exist_ok=True)
        shutil.rmtree(STATE)
    for held in sh("zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-r", POOL).stdout.split():
        for tag in sh("zfs", "holds", "-H", held).stdout.splitlines():
            sh("zfs", "release", tag.split("\t")[1], held, check=False)
    for leftover in sh("zfs", "list", "-H", "-o", "name", "-r", POOL).stdout.split():
        if leftover.startswith((f"{POOL}/tm.", f"{POOL}/cnid.")):  # kept or rolled-back datasets of a swap
            sh("zfs", "destroy", "-R", leftover, check=False)
    for dataset in (f"{POOL}/tm", f"{POOL}/cnid", f"{POOL}/other", f"{POOL}/tm-cnid"):
        if sh("zfs", "list", dataset, check=False).returncode == 0:
            sh("zfs", "destroy", "-R", dataset)  # -R: a swap leaves clones of the snapshots behind


def check_cnids_over_afp(share: Share, sample: int = 50) -> None:
    """FPEnumerateExt2 of the bands directory and FPResolveID of a sample give the snapshot-time CNIDs."""
    afp, vol = afp_session()
    try:
        listed = {e.name: e.node_id for e in afp.enumerate(vol, share.bands_did)}
        expected = {p.rsplit("/", 1)[1]: c for p, c in share.cnids.items() if p.startswith(f"{BUNDLE}/bands/")}
        assert listed == expected
        files = [(p, c) for p, c in share.cnids.items() if p not in {BUNDLE, f"{BUNDLE}/bands"}]  # FPResolveID: files
        for path, cnid in files[:: max(1, len(files) // sample)]:
            entry = afp.resolve_id(vol, cnid)
            assert entry.name == path.rsplit("/", 1)[-1] and entry.node_id == cnid, path
    finally:
        afp.logout()
        afp.close()


def next_cnid(share: Share, name: str, *, keep: bool = False) -> int:
    """Create a file over AFP in the bands directory: the CNID the server hands out now (the file is deleted
    again unless ``keep``)."""
    afp, vol = afp_session()
    try:
        cnid = afp.write_file(vol, share.bands_did, name, b"x")
        if not keep:
            afp.delete(vol, share.bands_did, name)
        return cnid
    finally:
        afp.logout()
        afp.close()


def read_database_stopped(share: Share) -> CnidDatabase:
    """cnid2.db as netatalk leaves it on stop (while it serves, cnid2.db lags the transaction log)."""
    share.server.stop()
    try:
        return read_cnid_database(share.db_dir)
    finally:
        share.server.start()


def database_mismatches(share: Share, db: CnidDatabase) -> dict[str, tuple[int, int | None]]:
    """Paths of the snapshot whose record in ``db`` has another CNID: path -> (CNID then, CNID now)."""
    paths, _ = record_paths(db.records)
    by_path = {p: c for c, p in paths.items()}
    return {p: (c, by_path.get(p)) for p, c in share.cnids.items() if by_path.get(p) != c}


def _listing(afp: AfpClient, vol: int) -> dict[str, tuple[int, bool]]:
    """Every file and directory as the server lists it (FPEnumerateExt2 from the root): path -> (node ID, is dir)."""
    out: dict[str, tuple[int, bool]] = {}
    pending = [(2, "")]
    while pending:
        did, prefix = pending.pop()
        for entry in afp.enumerate(vol, did):
            path = f"{prefix}/{entry.name}" if prefix else entry.name
            out[path] = (entry.node_id, entry.is_dir)
            if entry.is_dir:
                pending.append((entry.node_id, path))
    return out


def _unmangled(listed: dict[str, tuple[int, bool]], known: dict[str, int]) -> dict[str, tuple[int, bool]]:
    """AFP's long names are at most 31 bytes: netatalk lists ``com.apple.TimeMachine.MachineID.plist`` as
    ``com.apple.TimeMachine.M#15.plis``. Give such an entry back its full name when exactly one known path of the
    same directory starts with its part before the ``#``."""
    out = dict(listed)
    for path in listed:
        parent, _, leaf = path.rpartition("/")
        if "#" not in leaf:
            continue
        stem = leaf.split("#", 1)[0]
        matches = [p for p in known if p.rpartition("/")[0] == parent and p.rpartition("/")[2].startswith(stem)]
        if len(matches) == 1 and matches[0] not in listed:
            out[matches[0]] = out.pop(path)
    return out


def cnids_over_afp(share: Share) -> dict[str, int]:
    """Every file and directory of the share as the server lists it now: path -> node ID."""
    afp, vol = afp_session()
    try:
        return {path: node for path, (node, _) in _unmangled(_listing(afp, vol), share.cnids).items()}
    finally:
        afp.logout()
        afp.close()


def every_cnid_kept(share: Share) -> dict[str, tuple[int, int | str | None]]:
    """Paths of the snapshot whose CNID over AFP is not the one they had then: listed from the root, and every file
    resolved by its old CNID in the same session, as a Mac resolves a remembered ID (FPResolveID is for files; a
    session knows a directory once it has listed it). path -> (CNID then, CNID now or the error)."""
    afp, vol = afp_session()
    try:
        listed = _unmangled(_listing(afp, vol), share.cnids)
        wrong: dict[str, tuple[int, int | str | None]] = {
            p: (c, listed[p][0] if p in listed else None) for p, c in share.cnids.items() if listed.get(p, (0,))[0] != c
        }
        for path, cnid in share.cnids.items():
            if path in wrong or listed[path][1]:
                continue
            try:
                entry = afp.resolve_id(vol, cnid)
            except Exception as exc:
                wrong[path] = (cnid, repr(exc))
                continue
            # AFP's long name is cut to 31 bytes and mangled (com.apple.TimeMachine.MachineID.plist): the parent
            # and the ID say which file it is
            if entry.node_id != cnid or entry.parent_id != share.cnids.get(path.rpartition("/")[0], 2):
                wrong[path] = (cnid, entry.node_id)
    finally:
        afp.logout()
        afp.close()
    return wrong
