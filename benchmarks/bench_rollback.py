"""Benchmark: rollback-to-serving time and CNIDs changed, zfstm's strategies vs the manual procedure (testbed only).

    python3 -m zfstm.testbed run --out results --timeout 3600 -- python3 /src/benchmarks/bench_rollback.py

For each size N (default 2,000 and 20,000 files) a master share is built once: files written over AFP (so they carry
netatalk's metadata EA with their CNID) up to ``--afp-limit`` files, the rest created locally and registered with
``dbd`` (those have NO metadata EA: dbd does not write one), then netatalk is stopped and data and CNID datasets are
snapshotted together (@good), changed over AFP, snapshotted (@later) and broken. Every method then runs on its own
copy (``zfs send -R | zfs recv``) of that master, served by netatalk from a one-volume afp.conf:

- paired / rescan / reset: ``zfstm rollback tm --to good --yes --cnid-strategy S`` (the default, non-destructive swap);
- manual: stop netatalk, ``zfs rollback -r tm@good``, delete the .AppleDB contents, start netatalk, ``dbd`` rescan.

Measured: seconds from the start of the method until netatalk serves the share again (for zfstm the command returns
only once asip-status answers; for the manual procedure after the rescan), and how many of the snapshot's files have
a different CNID afterwards (read from cnid2.db with netatalk stopped). Writes ``bench_rollback.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.integration.afpclient import AfpClient
from zfstm.netatalk.check import record_paths
from zfstm.netatalk.cniddb import read_cnid_database
from zfstm.service.pidfile import PidfileControl

POOL = "tank"
WORK = Path("/tmp/work")
AFP_CONF = Path("/etc/netatalk/afp.conf")
METHODS = ("paired", "rescan", "reset", "manual")


def sh(*argv: str) -> str:
    return subprocess.run(list(argv), check=True, capture_output=True, text=True).stdout


def lockfile() -> Path:
    for line in sh("netatalk", "-V").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "lockfile":
            return Path(value.strip())
    return Path("/run/lock/netatalk")


SERVER = PidfileControl(argv=["netatalk"], pidfile=lockfile(), program="netatalk")


def serve(root: str, *, cnid_dev: bool) -> None:
    """One-volume afp.conf for the share at /tank/<root>/tm with its database on /tank/<root>/cnid."""
    AFP_CONF.write_text(
        "[Global]\nuam list = uams_clrtxt.so uams_dhx2.so\n"
        f"vol dbpath = /{POOL}/{root}/cnid/$v/\nlog file = /tmp/work/netatalk.log\n\n"
        f"[TM]\npath = /{POOL}/{root}/tm\ntime machine = yes\n" + ("" if cnid_dev else "cnid dev = no\n")
    )


def wait_serving() -> None:
    for _ in range(300):
        if subprocess.run(["asip-status", "localhost"], capture_output=True, check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("netatalk does not answer")


def cnids(root: str) -> dict[str, int]:
    """path -> CNID from the live database (netatalk must be stopped)."""
    db = read_cnid_database(Path(f"/{POOL}/{root}/cnid/tm/.AppleDB"))
    paths, _ = record_paths(db.records)
    return {p: c for c, p in paths.items() if c > 16}


def build_master(n: int, afp_limit: int, *, cnid_dev: bool) -> dict[str, Any]:
    root = f"m{n}"
    sh("zfs", "create", f"{POOL}/{root}")
    sh("zfs", "create", f"{POOL}/{root}/tm")
    sh("zfs", "create", f"{POOL}/{root}/cnid")
    share = Path(f"/{POOL}/{root}/tm")
    shutil.chown(share, user="tmuser", group=sh("id", "-gn", "tmuser").strip())
    serve(root, cnid_dev=cnid_dev)
    SERVER.start()
    wait_serving()
    t0 = time.monotonic()
    over_afp = min(n, afp_limit)
    with AfpClient() as afp:
        afp.login("tmuser", "tmpass")
        vol = afp.open_volume(next(v for v in afp.volume_names() if v.lower() == "tm"))
        bundle = afp.create_dir(vol, 2, "mac.sparsebundle")
        bands = afp.create_dir(vol, bundle, "bands")
        for i in range(over_afp):
            afp.write_file(vol, bands, f"{i:x}", bytes([i % 256]) * 512)
        afp.logout()
    afp_seconds = time.monotonic() - t0
    for i in range(over_afp, n):
        (share / "mac.sparsebundle/bands" / f"{i:x}").write_bytes(bytes([i % 256]) * 512)
    if n > over_afp:
        subprocess.run(["dbd", str(share)], capture_output=True, check=False)
    SERVER.stop()
    good = cnids(root)
    sh("zfs", "snapshot", f"{POOL}/{root}/tm@good", f"{POOL}/{root}/cnid@good")
    SERVER.start()
    wait_serving()
    with AfpClient() as afp:
        afp.login("tmuser", "tmpass")
        vol = afp.open_volume(next(v for v in afp.volume_names() if v.lower() == "tm"))
        extra = afp.create_dir(vol, 2, "later")
        for i in range(100):
            afp.write_file(vol, extra, f"f{i}", b"later")
        afp.logout()
    SERVER.stop()
    sh("zfs", "snapshot", f"{POOL}/{root}/tm@later", f"{POOL}/{root}/cnid@later")
    for band in sorted((share / "mac.sparsebundle/bands").iterdir())[:50]:
        band.unlink()
    sh("zfs", "snapshot", f"{POOL}/{root}/tm@broken", f"{POOL}/{root}/cnid@broken")
    return {"root": root, "good": good, "afp_files": over_afp, "afp_seconds": afp_seconds}


def copy_master(master: str, run: str) -> None:
    sh("zfs", "create", f"{POOL}/{run}")
    for ds in ("tm", "cnid"):
        send = subprocess.Popen(["zfs", "send", "-R", f"{POOL}/{master}/{ds}@broken"], stdout=subprocess.PIPE)
        subprocess.run(["zfs", "recv", f"{POOL}/{run}/{ds}"], stdin=send.stdout, check=True, capture_output=True)
        send.wait()


def write_config(run: str) -> Path:
    config = WORK / f"{run}.toml"
    config.write_text(
        f'state_dir = "{WORK / "state"}"\nrun_dir = "{WORK / "run"}"\n\n[backend]\nkind = "cli"\n\n'
        f'[file_server]\nkind = "netatalk"\nadapter = "pidfile"\nservice = "{SERVER.pidfile}"\n'
        f'start = ["netatalk"]\nprogram = "netatalk"\nafp_conf = "{AFP_CONF}"\n\n'
        f'[[targets]]\nname = "{run}"\ndataset = "{POOL}/{run}/tm"\ncnid_dataset = "{POOL}/{run}/cnid"\n'
    )
    return config


def run_method(method: str, master: dict[str, Any], n: int, *, cnid_dev: bool) -> dict[str, Any]:
    run = f"r{n}{method}"
    copy_master(master["root"], run)
    serve(run, cnid_dev=cnid_dev)
    SERVER.start()
    wait_serving()
    t0 = time.monotonic()
    if method == "manual":
        SERVER.stop()
        sh("zfs", "rollback", "-r", f"{POOL}/{run}/tm@good")
        db_dir = Path(f"/{POOL}/{run}/cnid/tm/.AppleDB")
        for entry in db_dir.iterdir():
            entry.unlink()
        SERVER.start()
        wait_serving()
        subprocess.run(["dbd", f"/{POOL}/{run}/tm"], capture_output=True, check=False)
        detail = ""
    else:
        done = subprocess.run(
            [sys.executable, "-m", "zfstm.cli.main", "rollback", run, "--to", "good", "--yes",
             "--cnid-strategy", method, "--config", str(write_config(run))],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{method}: {done.stdout}\n{done.stderr}")
        detail = done.stderr[-400:]
    seconds = time.monotonic() - t0
    SERVER.stop()
    after = cnids(run)
    changed = sum(1 for path, cnid in master["good"].items() if after.get(path) != cnid)
    return {"n": n, "method": method, "seconds": round(seconds, 2), "cnids_changed": changed,
            "files": len(master["good"]), "detail": detail}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--afp-limit", type=int, default=2000, help="files written over AFP; the rest locally")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--cnid-dev", action="store_true", help="keep `cnid dev = yes` (default here: no)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        master = build_master(n, args.afp_limit, cnid_dev=args.cnid_dev)
        print(f"N={n}: {master['afp_files']} files over AFP in {master['afp_seconds']:.0f} s", flush=True)
        for method in args.methods.split(","):
            row = run_method(method, master, n, cnid_dev=args.cnid_dev)
            rows.append(row)
            print(f"N={n:>6} {method:<8} {row['seconds']:>8.2f} s  CNIDs changed {row['cnids_changed']:>6}"
                  f" of {row['files']}", flush=True)  # fmt: skip
    out = Path(os.environ.get("ZFSTM_TESTBED_OUT", "."))
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_rollback.json").write_text(
        json.dumps({"machine": platform.platform(), "cnid_dev": args.cnid_dev, "afp_limit": args.afp_limit,
                    "rows": rows}, indent=2)
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
