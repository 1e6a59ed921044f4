"""Benchmark: rollback-to-serving time and CNIDs changed, zfstm's strategies vs the manual procedure (testbed only).

    python3 -m zfstm.testbed run --out results --timeout 3600 -- python3 /src/benchmarks/bench_rollback.py

For each size N (default 2,000 and 20,000 files) a master share is built once: files written over AFP (so they carry
netatalk's metadata EA with their CNID) up to ``--afp-limit`` files, the rest created locally and registered with
``dbd`` (those have NO metadata EA: dbd does not write one), then netatalk is stopped and data and CNID datasets are
snapshotted together (@good), changed over AFP, snapshotted (@later), broken and snapshotted (@broken). The
methods then run one after the other on that same pair of datasets (a received copy would not do: ``zfs recv``
gives the two datasets' snapshots different createtxgs, so they would not count as paired):

- auto / paired / rebuild / rescan / reset: ``zfstm rollback tm --to good --yes [--cnid-strategy S]`` (the default,
  non-destructive swap; auto lets zfstm choose); afterwards ``zfstm rollback --undo`` and an in-place
  ``zfs rollback`` of both datasets to @broken restore the starting point (not timed);
- manual (last, because it destroys @later and @broken): stop netatalk, ``zfs rollback -r tm@good``, delete the
  .AppleDB contents, start netatalk, ``dbd`` rescan.

zfstm runs as installed: copied into the VM's site-packages and byte-compiled (not from the read-only 9p checkout).
``--layout`` puts the volume's CNID database where real shares have it: ``dataset`` (``vol dbpath`` on the CNID
dataset, what zfstm provisions; auto = paired), ``default`` (no dbpath: netatalk's state directory, off ZFS; auto =
rebuild) or ``nested`` (``vol dbnest = yes``, inside the share; auto = paired).

Measured: seconds from the start of the method until netatalk serves the share again (for zfstm the command
returns only once netatalk answers a DSI status request; for the manual procedure after the rescan), and how many
of the snapshot's files have a different CNID afterwards (read from cnid2.db with netatalk stopped), and whether
the counter afterwards is below the highest CNID handed out before (then CNIDs are handed out again). Writes
``bench_rollback.json``.
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

from benchmarks.installed import install_zfstm
from zfstm.netatalk.check import record_paths
from zfstm.netatalk.cniddb import read_cnid_database
from zfstm.service.pidfile import PidfileControl
from zfstm.service.verified import asip_probe
from zfstm.testbed.afpclient import AfpClient
from zfstm.testbed.guest_netatalk import AFP_CONF, afp_conf_text, netatalk_lockfile

POOL = "tank"
WORK = Path("/tmp/work")
METHODS = ("paired", "rescan", "reset", "manual")
LAYOUTS = ("dataset", "default", "nested")
#: netatalk's default place for volume TM (Debian's build: state directory /var/lib/netatalk/)
DEFAULT_DB = Path("/var/lib/netatalk/CNID/tm/.AppleDB")


def sh(*argv: str) -> str:
    return subprocess.run(list(argv), check=True, capture_output=True, text=True).stdout


SERVER = PidfileControl(argv=["netatalk"], pidfile=netatalk_lockfile(), program="netatalk")


def serve(root: str, *, cnid_dev: bool, layout: str) -> None:
    """One-volume afp.conf for the share at /tank/<root>/tm with its database where ``layout`` puts it."""
    text = afp_conf_text(POOL, root, cnid_dev=cnid_dev)
    if layout != "dataset":
        dbpath = next(line for line in text.splitlines() if line.startswith("vol dbpath"))
        text = text.replace(dbpath + "\n", "vol dbnest = yes\n" if layout == "nested" else "")
    AFP_CONF.write_text(text)


def db_dir(root: str, layout: str) -> Path:
    return {"dataset": Path(f"/{POOL}/{root}/cnid/tm/.AppleDB"), "default": DEFAULT_DB,
            "nested": Path(f"/{POOL}/{root}/tm/.AppleDB")}[layout]  # fmt: skip


def wait_serving() -> None:
    """The same probe zfstm's start step uses (a native DSI GetStatus), so both methods wait alike."""
    probe = asip_probe()
    for _ in range(300):
        if probe().ok:
            return
        time.sleep(0.2)
    raise RuntimeError("netatalk does not answer")


def cnids(root: str, layout: str) -> dict[str, int]:
    """path -> CNID from the live database (netatalk must be stopped)."""
    db = read_cnid_database(db_dir(root, layout))
    paths, _ = record_paths(db.records)
    return {p: c for c, p in paths.items() if c > 16}


def counter(root: str, layout: str) -> int:
    """The database's last-used CNID (netatalk must be stopped)."""
    info = read_cnid_database(db_dir(root, layout)).rootinfo
    return info.last_cnid if info is not None else 0


def build_master(n: int, afp_limit: int, *, cnid_dev: bool, layout: str) -> dict[str, Any]:
    root = f"m{n}-{layout}" + ("" if cnid_dev else "-nodev")  # one VM can run several settings
    sh("zfs", "create", f"{POOL}/{root}")
    sh("zfs", "create", f"{POOL}/{root}/tm")
    sh("zfs", "create", f"{POOL}/{root}/cnid")
    share = Path(f"/{POOL}/{root}/tm")
    shutil.chown(share, user="tmuser", group=sh("id", "-gn", "tmuser").strip())
    shutil.rmtree(DEFAULT_DB.parent, ignore_errors=True)
    serve(root, cnid_dev=cnid_dev, layout=layout)
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
    good = cnids(root, layout)
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
    return {"root": root, "layout": layout, "good": good, "afp_files": over_afp, "afp_seconds": afp_seconds}


def write_config(root: str, layout: str) -> Path:
    config = WORK / f"{root}.toml"
    config.write_text(
        f'state_dir = "{WORK / "state"}"\nrun_dir = "{WORK / "run"}"\n\n'  # the default backend: lzc here
        f'[file_server]\nkind = "netatalk"\nadapter = "pidfile"\nservice = "{SERVER.pidfile}"\n'
        f'start = ["netatalk"]\nprogram = "netatalk"\nafp_conf = "{AFP_CONF}"\n\n'
        f'[[targets]]\nname = "tm"\ndataset = "{POOL}/{root}/tm"\n'
        + (f'cnid_dataset = "{POOL}/{root}/cnid"\n' if layout == "dataset" else "")
    )
    return config


def zfstm(*argv: str, profile: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed zfstm command (under cProfile, written to ``profile``, when given)."""
    prefix = ["-m", "cProfile", "-o", str(profile)] if profile else []
    done = subprocess.run(
        [sys.executable, *prefix, "-m", "zfstm.cli.main", *argv],
        capture_output=True,
        text=True,
        check=False,
        env=install_zfstm(),  # done once, by main() before anything is timed
        cwd="/",
    )
    if done.returncode != 0:
        raise RuntimeError(f"zfstm {' '.join(argv)}: {done.stdout}\n{done.stderr}")
    return done


def restore_broken(root: str, config: Path, now: str) -> None:
    """Back to the starting point: undo the swap, then both datasets in place to @broken (netatalk stopped)."""
    zfstm("rollback", "tm", "--undo", "--yes", "--now", now, "--config", str(config))
    SERVER.stop()
    sh("zfs", "rollback", f"{POOL}/{root}/tm@broken")
    sh("zfs", "rollback", f"{POOL}/{root}/cnid@broken")
    SERVER.start()
    wait_serving()


def run_method(method: str, master: dict[str, Any], n: int, round_: int, *, profile: bool) -> dict[str, Any]:
    root, layout = master["root"], master["layout"]
    config = write_config(root, layout)
    if SERVER.is_running():
        SERVER.stop()
    handed_out = counter(root, layout)  # the highest CNID handed out before: none may be handed out again
    SERVER.start()
    wait_serving()
    t0 = time.monotonic()
    detail = ""
    if method == "manual":
        SERVER.stop()
        sh("zfs", "rollback", "-r", f"{POOL}/{root}/tm@good")
        for entry in db_dir(root, layout).iterdir():
            entry.unlink()
        SERVER.start()
        wait_serving()
        subprocess.run(["dbd", f"/{POOL}/{root}/tm"], capture_output=True, check=False)
    else:
        stamp = f"2030-01-01T00:{round_:02d}:00Z"
        pstats = out_dir() / f"profile-{n}-{method}.pstats" if profile else None
        strategy = [] if method == "auto" else ["--cnid-strategy", method]
        done = zfstm("rollback", "tm", "--to", "good", "--yes", *strategy, "--now", stamp,
                     "--config", str(config), profile=pstats)  # fmt: skip
        detail = done.stderr
    seconds = time.monotonic() - t0
    SERVER.stop()
    after = cnids(root, layout)
    changed = sum(1 for path, cnid in master["good"].items() if after.get(path) != cnid)
    counter_after = counter(root, layout)
    SERVER.start()
    if method != "manual":
        restore_broken(root, config, f"2030-01-01T00:{round_:02d}:30Z")
    return {"n": n, "layout": layout, "method": method, "seconds": round(seconds, 2), "cnids_changed": changed,
            "files": len(master["good"]), "counter_before": handed_out, "counter_after": counter_after,
            "reuses": counter_after < handed_out, "detail": detail}  # fmt: skip


def out_dir() -> Path:
    out = Path(os.environ.get("ZFSTM_TESTBED_OUT", "."))
    out.mkdir(parents=True, exist_ok=True)
    return out


def save(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Write what was measured so far (a run cut short still leaves its rows)."""
    (out_dir() / args.json_name).write_text(
        json.dumps({"machine": platform.platform(), "cnid_dev": not args.cnid_dev_no, "afp_limit": args.afp_limit,
                    "layout": args.layout,
                    "rows": rows}, indent=2)
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--afp-limit", type=int, default=2000, help="files written over AFP; the rest locally")
    parser.add_argument("--methods", default=",".join(METHODS), help="auto, paired, rebuild, rescan, reset, manual")
    parser.add_argument("--layout", choices=LAYOUTS, default="dataset", help="where the CNID database lives")
    parser.add_argument("--json-name", default="bench_rollback.json", help="file written into $ZFSTM_TESTBED_OUT")
    parser.add_argument(
        "--cnid-dev-no", action="store_true", help="serve with `cnid dev = no` (default: netatalk's yes)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the first of each zfstm method under cProfile (profile-N-METHOD.pstats; repeat a method in"
        " --methods, e.g. paired,paired,manual, for an unprofiled time too)",
    )
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    install_zfstm()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        master = build_master(n, args.afp_limit, cnid_dev=not args.cnid_dev_no, layout=args.layout)
        print(f"N={n}: {master['afp_files']} files over AFP in {master['afp_seconds']:.0f} s", flush=True)
        profiled: set[str] = set()
        for round_, method in enumerate(args.methods.split(",")):
            profile = args.profile and method not in profiled
            profiled.add(method)
            row = run_method(method, master, n, round_, profile=profile)
            row["profiled"] = profile
            rows.append(row)
            save(rows, args)
            print(f"N={n:>6} {args.layout:<8} {method:<8} {row['seconds']:>8.2f} s"
                  f"  CNIDs changed {row['cnids_changed']:>6} of {row['files']}"
                  f"  counter {row['counter_before']} -> {row['counter_after']}"
                  + ("  REUSES CNIDs" if row["reuses"] else ""), flush=True)  # fmt: skip
        SERVER.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
