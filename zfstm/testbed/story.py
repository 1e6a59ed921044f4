"""The main job, played inside the testbed on real ZFS and real netatalk: what zfstm does for a Time Machine share.

Run on the host with ``python -m zfstm.testbed demo`` (which boots the VM and runs this module in it). The story:
provision a share with ``zfstm provision``, start netatalk, let a Mac (a real AFP client) back up fourteen times
over a simulated month with ``zfstm run --now`` after each (snapshots, the known-good hold, retention), break the
backup the way Time Machine breaks them, see ``zfstm check`` turn CRITICAL, ``zfstm rollback --last-good``, and
prove that every file kept its CNID. Simulated time moves through ``--now``; nothing waits.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from zfstm.retention import DEFAULT_POLICY, RetentionSnapshot, plan
from zfstm.service.pidfile import PidfileControl
from zfstm.testbed.guest_netatalk import netatalk_lockfile, wait_listening
from zfstm.testbed.story_world import (
    BUNDLE,
    MACHINE_ID,
    Mac,
    iso,
    machine_id,
    note,
    say,
    show,
    zfstm,
    zfstm_json,
)
from zfstm.zfs import DatasetName, open_backend

POOL = "tank"
DATA, CNID = f"{POOL}/tm", f"{POOL}/cnid"
SHARE = Path(f"/{POOL}/tm")
WORK = Path.cwd()  # the testbed runs the story in /tmp/work
CONFIG = WORK / "zfstm.toml"
AFP_CONF = Path("/etc/netatalk/afp.conf")
START = datetime(2026, 10, 24, tzinfo=UTC)  # a Saturday; the simulated month runs to 2026-11-27
#: (day after START, hour) of each backup: busy first days, then weekly, then a busy last day.
SCHEDULE = ((0, 9), (0, 14), (0, 20), (1, 10), (1, 19), (2, 11), (9, 12), (16, 9), (16, 18), (23, 10), (30, 11),
            (34, 8), (34, 12), (34, 16))  # fmt: skip
BANDS_PER_BACKUP = 14
POLICY = DEFAULT_POLICY  # the config below leaves retention at Time Machine's defaults (time zone UTC)

GLOBAL = f"""[Global]
uam list = uams_clrtxt.so uams_dhx2.so
log file = {WORK}/netatalk.log
"""


def config_text(lockfile: Path) -> str:
    return (
        # state_dir left at its default (/var/lib/zfstm: persistent storage, as a rollback journal needs)
        f'run_dir = "{WORK / "run"}"\n\n'
        '[file_server]\nkind = "netatalk"\nadapter = "pidfile"\n'
        f'service = "{lockfile}"\nstart = ["netatalk"]\nprogram = "netatalk"\nafp_conf = "{AFP_CONF}"\n\n'
        f'[[targets]]\nname = "tm"\ndataset = "{DATA}"\ncnid_dataset = "{CNID}"\n'
    )


def snapshots_now() -> list[RetentionSnapshot]:
    """The share's snapshots as retention sees them (managed by their zfstm names)."""
    backend = open_backend()
    return [
        RetentionSnapshot(
            info.name.full, datetime.strptime(info.name.short, "zfstm-%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        )
        for info in backend.list_snapshots(DatasetName(DATA))
        if info.name.short.startswith("zfstm-")
    ]


def tick(now: datetime, pruned: dict[str, str]) -> dict[str, Any]:
    """One `zfstm run --now`; narrate it; remember what it pruned and the planner's reason."""
    # Time is simulated: the backup's writes may still sit in the open transaction group (synced every 5 s), and
    # ZFS's `written` counts synced data only. On a real server the quiet period (minutes) covers this.
    subprocess.run(["zpool", "sync", "tank"], check=True)
    before = plan(snapshots_now(), now, POLICY)
    why = {d.snapshot.name: "; ".join(d.reasons) for d in before.decisions if not d.keep}
    report = zfstm_json("run", "--config", str(CONFIG), "--now", iso(now))
    target = report["targets"][0]
    taken = target["snapshot"]
    note(f"{iso(now)}  zfstm run: {target['activity']} ({target['activity_reason']})")
    note(f"    -> {('took ' + taken) if taken else 'no snapshot: ' + str(target['reason'])}")
    if target.get("known_good"):
        note(f"    known-good: {target['known_good']}")
    for name in target["destroy"]:
        pruned[name] = f"pruned at {iso(now)}: {why.get(name, 'its bucket is now stood for by a newer snapshot')}"
        note(f"    pruned {name.partition('@')[2]}  ({why.get(name, 'superseded')})")
    if report["_exit"] != 0:
        raise SystemExit(f"story stopped: zfstm run exited {report['_exit']}: {report.get('failures')}")
    return report


def provision() -> PidfileControl:
    say("Provision a Time Machine share: dataset with compression and a refquota, the CNID database on its own dataset")
    AFP_CONF.write_text(GLOBAL)
    show(zfstm("provision", DATA, "--share", "TM", "--size", "2G", "--owner", "tmuser", "--target", "tm",
               "--write-config", str(AFP_CONF), "--dry-run"))  # fmt: skip
    show(zfstm("provision", DATA, "--share", "TM", "--size", "2G", "--owner", "tmuser", "--target", "tm",
               "--write-config", str(AFP_CONF)))  # fmt: skip
    show(["zfs", "get", "-o", "name,property,value", "compression,refquota,atime,xattr", DATA, CNID])
    note("afp.conf now reads:")
    for line in AFP_CONF.read_text().splitlines():
        note(f"    {line}")
    again = show(zfstm("provision", DATA, "--share", "TM", "--write-config", str(AFP_CONF)), check=False)
    note(f"(a second provision is refused, exit {again.returncode}: nothing is overwritten without --force)")
    lockfile = netatalk_lockfile()
    CONFIG.write_text(config_text(lockfile))
    show(zfstm("config", "check", "--config", str(CONFIG)), last=1)
    say("Start netatalk (afpd and cnid_metad on loopback) through zfstm's pidfile service adapter")
    server = PidfileControl(argv=["netatalk"], pidfile=lockfile, program="netatalk")
    server.start()
    wait_listening()
    show(["asip-status", "localhost"], check=False, last=3)
    return server


def backups(mac: Mac) -> tuple[dict[str, str], dict[str, int]]:
    say(f"A month of Time Machine backups over AFP ({len(SCHEDULE)} backups, {BANDS_PER_BACKUP} bands each), "
        "zfstm run after each; time is simulated with --now")  # fmt: skip
    pruned: dict[str, str] = {}
    good_tree: dict[str, int] = {}
    for number, (day, hour) in enumerate(SCHEDULE):
        when = START + timedelta(days=day, hours=hour)
        t0 = time.monotonic()
        mac.backup(when, BANDS_PER_BACKUP)
        t1 = time.monotonic()
        print(f"  backup {number + 1:2}: completed {iso(when)} over AFP ({mac.next_band} bands in the bundle, "
              f"{t1 - t0:.1f} s)", flush=True)  # fmt: skip
        if number == 0:
            tick(when + timedelta(minutes=3), pruned)  # the bands are three minutes old: not quiet yet
        tick(when + timedelta(minutes=15), pruned)
        note(f"    ({time.monotonic() - t1:.1f} s)")
    good_tree = mac.tree()
    return pruned, good_tree


def break_backup(mac: Mac, when: datetime) -> None:
    say("The next backup goes wrong the way Time Machine's do: verification failed, bands lost and overwritten")
    mac.backup(when, 4, verified=False)  # the Mac writes, then its verification fails
    bands = sorted((SHARE / BUNDLE / "bands").iterdir())
    for band in bands[:20]:
        band.unlink()
    for band in bands[20:40]:
        band.write_bytes(b"garbage" * 100)
    (SHARE / BUNDLE / MACHINE_ID).write_bytes(machine_id(2, when))
    mac.date_files(when)  # simulated time, as for every backup
    note(f"{MACHINE_ID}: VerificationState 2; 20 bands deleted, 20 overwritten")


def main() -> int:
    started = time.monotonic()
    backend = open_backend()
    say(f"ZFS backend: {backend.kind} (libzfs_core through pyzfs when available, else the zfs CLI)")
    server = provision()
    mac = Mac(SHARE)
    try:
        pruned, good_tree = backups(mac)
        end = START + timedelta(days=34, hours=16, minutes=15)
        say("Retention after the month: what the planner keeps, and why (zfstm plan --now)")
        show(zfstm("plan", DATA, "--now", iso(end), "--tz", "UTC"))
        show(zfstm("check", "--config", str(CONFIG), "--now", iso(end)), check=False)

        broken_at = START + timedelta(days=34, hours=20)
        break_backup(mac, broken_at)
        tick(broken_at + timedelta(minutes=15), pruned)
        show(zfstm("status", "--config", str(CONFIG), "--summary", "--now", iso(broken_at + timedelta(minutes=20))))
        show(zfstm("check", "--config", str(CONFIG), "--now", iso(broken_at + timedelta(minutes=20))), check=False)

        say("Roll back to the last known-good snapshot: the plan first, then the rollback")
        show(zfstm("rollback", "tm", "--last-good", "--dry-run", "--config", str(CONFIG)))
        t0 = time.monotonic()
        show(zfstm("rollback", "tm", "--last-good", "--yes", "--config", str(CONFIG)))
        rollback_seconds = time.monotonic() - t0
        show(zfstm("status", "--config", str(CONFIG), "--summary", "--now", iso(broken_at + timedelta(minutes=40))))
        show(zfstm("check", "--config", str(CONFIG), "--now", iso(broken_at + timedelta(minutes=40))), check=False)

        say("Proof that CNIDs survived: every file of the known-good backup, over AFP")
        after = mac.tree()
        changed = {p: (c, after.get(p)) for p, c in good_tree.items() if after.get(p) != c}
        extra = sorted(set(after) - set(good_tree))
        bands = {p: c for p, c in good_tree.items() if p.startswith(f"{BUNDLE}/bands/")}
        unresolved = mac.resolve(bands)
        fresh = mac.new_file_cnid()
        note(f"{len(good_tree)} files and directories; CNIDs changed: {len(changed)}; unexpected files: {len(extra)}")
        note(f"FPResolveID of all {len(bands)} band CNIDs: {len(bands) - len(unresolved)} resolve to the same file")
        note(f"highest CNID handed out before the rollback: {mac.highest_cnid}; next new file gets {fresh} "
             f"({'never reused' if fresh > mac.highest_cnid else 'REUSED'})")  # fmt: skip
        ok = not changed and not extra and not unresolved and fresh > mac.highest_cnid
    finally:
        server.stop()

    say("Summary")
    survivors = plan(snapshots_now(), broken_at + timedelta(minutes=40), POLICY)
    note(f"kept {sum(1 for d in survivors.decisions if d.keep)} snapshots of {DATA}:")
    for decision in survivors.decisions:
        note(f"  {decision.snapshot.name.partition('@')[2]}  {', '.join(decision.reasons)}")
    note(f"pruned {len(pruned)} snapshots over the month:")
    for name, why in sorted(pruned.items()):
        note(f"  {name.partition('@')[2]}  {why}")
    kept = [line for line in show(["zfs", "list", "-H", "-o", "name", "-t", "filesystem", "-r", POOL]).stdout.split()
            if ".before-rollback-" in line]  # fmt: skip
    note(f"the broken state is kept, with its newer snapshots, as {', '.join(kept) or '(none)'}")
    note(f"rollback to serving: {rollback_seconds:.1f} s; CNIDs {'all survived' if ok else 'DID NOT all survive'}")
    note(f"story played in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
