"""``zfstm cnid check VOLUME_OR_PATH``: is a Netatalk volume's CNID database in agreement with its files?

Strictly read-only: reads afp.conf, dumps cnid2.db with the Berkeley DB tool, lstat()s and reads the metadata EA of
every file. Refuses while cnid_dbd has the database open (the file lags behind its log) unless ``--live``.
Exit status 0 when healthy, 1 when problems were found (errors use the codes in zfstm.errors).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
from pathlib import Path
from typing import Any

from zfstm.errors import AfpConfError, CnidDatabaseInUse, UsageError
from zfstm.netatalk.afpconf import DEFAULT_STATEDIR, AfpConf, Volume, parse_afp_conf
from zfstm.netatalk.appledb import LockHolder, probe_lock
from zfstm.netatalk.check import INFORMATIONAL, CheckReport, Finding, check_volume
from zfstm.netatalk.cniddb import read_cnid_database
from zfstm.netatalk.scan import scan_volume
from zfstm.textfile import UnreadableFile, read_small_text

#: Where netatalk 3/4 looks for afp.conf on the systems zfstm supports (Debian, source builds, pkgsrc/illumos).
AFP_CONF_CANDIDATES = (
    "/etc/netatalk/afp.conf",
    "/usr/local/etc/afp.conf",
    "/usr/local/etc/netatalk/afp.conf",
    "/opt/local/etc/afp.conf",
    "/opt/local/etc/netatalk/afp.conf",
    "/etc/afp.conf",
)
EXIT_PROBLEMS = 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("cnid", help="inspect Netatalk CNID databases (read-only)")
    verbs = parser.add_subparsers(dest="cnid_verb", required=True, metavar="ACTION")
    check = verbs.add_parser("check", help="compare a volume's CNID database with its files and metadata EAs")
    check.add_argument("target", metavar="VOLUME_OR_PATH", help="afp.conf volume name, or a path inside a volume")
    check.add_argument("--afp-conf", type=Path, help="afp.conf to read (default: the first of the usual places)")
    check.add_argument("--statedir", default=DEFAULT_STATEDIR, help="netatalk's state directory (default CNID home)")
    check.add_argument("--examples", type=int, default=5, help="examples shown per finding (default 5)")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument(
        "--live",
        action="store_true",
        help="read cnid2.db even while cnid_dbd has it open (recent changes are then missing: expect false findings)",
    )
    check.set_defaults(handler=run_check)


def load_afp_conf(path: Path | None, statedir: str) -> AfpConf:
    if path is None:
        found = next((Path(p) for p in AFP_CONF_CANDIDATES if Path(p).is_file()), None)
        if found is None:
            raise AfpConfError(f"no afp.conf in {', '.join(AFP_CONF_CANDIDATES)}: pass --afp-conf PATH")
        path = found
    try:
        text = read_small_text(path, errors="surrogateescape")
    except UnreadableFile as exc:
        raise AfpConfError(f"{path}: afp.conf {exc}") from None
    return parse_afp_conf(
        text,
        str(path),
        read_include=read_include,
        statedir=statedir,
        hostname=socket.gethostname(),
    )


def read_include(path: str) -> str:
    """An afp.conf ``include``: a regular file of bounded size (``include = /dev/zero`` must not eat memory)."""
    try:
        return read_small_text(path, errors="surrogateescape")
    except UnreadableFile as exc:
        raise OSError(str(exc)) from None  # parse_ini names the including file and line


def resolve_volume(conf: AfpConf, target: str) -> Volume:
    """A volume by name, else the volume whose path contains ``target`` (the deepest one)."""
    by_name = conf.volume(target)
    if by_name is not None and not target.startswith("/"):
        return by_name
    real = os.path.realpath(target)
    candidates = [
        v
        for v in conf.volumes
        if not v.unresolved and (real == os.path.realpath(v.path) or real.startswith(os.path.realpath(v.path) + "/"))
    ]
    if candidates:
        return max(candidates, key=lambda v: len(v.path))
    if by_name is not None:
        return by_name
    names = ", ".join(f"{v.name} ({v.path})" for v in conf.volumes) or "none"
    raise UsageError(f"{target!r} is neither a volume of {conf.source} nor inside one; volumes: {names}")


def report_json(volume: Volume, report: CheckReport, holder: LockHolder | None, examples: int) -> dict[str, Any]:
    return {
        "volume": volume.name,
        "path": volume.path,
        "db_dir": volume.db_dir,
        "cnid_dev": volume.cnid_dev,
        "records": report.records,
        "entries": report.entries,
        "last_cnid": report.last_cnid,
        "cnid_dbd_pid": holder.pid if holder else None,
        "healthy": report.healthy,
        "counts": {f.value: n for f, n in report.counts.items()},
        "examples": {
            f.value: [{"cnid": p.cnid, "path": p.path, "detail": p.detail} for p in report.examples(f, examples)]
            for f in report.counts
        },
    }


def report_table(volume: Volume, report: CheckReport, holder: LockHolder | None, examples: int) -> str:
    lines = [
        f"Volume {volume.name}: {volume.path}",
        f"CNID database: {volume.db_dir}"
        + (f" (open by cnid_dbd, pid {holder.pid}: the file may lag behind)" if holder else " (not in use)"),
        f"Records {report.records}, files and directories {report.entries}, last CNID {report.last_cnid}",
        "",
        f"{'FINDING':<18} {'COUNT':>7}  EXAMPLES",
    ]
    counts = report.counts
    for finding in Finding:
        n = counts.get(finding, 0)
        if not n:
            continue
        shown = "; ".join(
            f"{p.cnid if p.cnid is not None else '-'} {p.path or '?'} ({p.detail})"
            for p in report.examples(finding, examples)
        )
        lines.append(f"{finding.value:<18} {n:>7}  {shown}")
    problems = sum(n for f, n in counts.items() if f not in INFORMATIONAL)
    lines.append("")
    lines.append("healthy" if report.healthy else f"{problems} problem(s) found")
    return "\n".join(lines)


def run_check(args: argparse.Namespace) -> int:
    conf = load_afp_conf(args.afp_conf, args.statedir)
    volume = resolve_volume(conf, args.target)
    if not volume.uses_cnid_database:
        raise UsageError(f"volume {volume.name} uses cnid scheme {volume.cnid_scheme!r}: there is no database to check")
    if volume.unresolved:
        raise UsageError(
            f"volume {volume.name}: its path or dbpath uses {', '.join(volume.unresolved)}, which only an AFP session "
            "can expand; zfstm cannot tell which directory is meant"
        )
    db_dir = Path(volume.db_dir)
    holder = probe_lock(db_dir)
    if holder is not None and not args.live:
        raise CnidDatabaseInUse(
            f"{db_dir}: cnid_dbd (pid {holder.pid}) has the CNID database open; until it stops, recent changes live "
            "only in its transaction log, not in cnid2.db (netatalk 4.2.3 showed 0 of 102 records on disk while "
            "running). Stop netatalk first, or pass --live to read the file as it is."
        )
    db = read_cnid_database(db_dir)
    scan = scan_volume(Path(volume.path))
    report = check_volume(db, scan, cnid_dev=volume.cnid_dev)
    if args.json:
        print(json.dumps(report_json(volume, report, holder, args.examples), indent=2))
    else:
        print(report_table(volume, report, holder, args.examples))
    return 0 if report.healthy else EXIT_PROBLEMS
