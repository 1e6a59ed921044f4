"""``zfstm cnid check VOLUME_OR_PATH``: is a Netatalk volume's CNID database in agreement with its files?

Strictly read-only: reads afp.conf, dumps cnid2.db with the Berkeley DB tool, lstat()s and reads the metadata EA of
every file. Refuses while cnid_dbd has the database open (the file lags behind its log) unless ``--live``.
Exit status 0 when healthy, 1 when problems were found (errors use the codes in zfstm.errors).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any

from zfstm.atomicfile import write_atomically
from zfstm.cli.config import add_config_argument, backend_for, load_from_args, run_dir_for, select_targets
from zfstm.config.model import FileServerKind, Target
from zfstm.errors import AfpConfError, CnidDatabaseError, CnidDatabaseInUse, UsageError
from zfstm.lock import target_lock
from zfstm.netatalk import cnid_counter
from zfstm.netatalk.afpconf import DEFAULT_STATEDIR, AfpConf, Volume, parse_afp_conf, volumes_on_dataset
from zfstm.netatalk.appledb import LockHolder, probe_lock
from zfstm.netatalk.check import INFORMATIONAL, CheckReport, Finding, check_volume
from zfstm.netatalk.cniddb import PRIMARY, read_cnid_database
from zfstm.netatalk.migrate import MigrationPlan, set_section_option
from zfstm.netatalk.scan import scan_volume
from zfstm.netatalk.version import derivation, probe_netatalk, resolve_db_dir
from zfstm.textfile import UnreadableFile, read_small_text
from zfstm.zfs.backend import ZfsBackend
from zfstm.zfs.names import DatasetName

#: Where netatalk 3/4 looks for afp.conf on the systems zfstm supports (Debian, source builds, pkgsrc/illumos).
AFP_CONF_CANDIDATES = (
    "/etc/netatalk/afp.conf",
    "/usr/local/etc/afp.conf",
    "/usr/local/etc/netatalk/afp.conf",
    "/opt/local/etc/netatalk/afp.conf",
    "/opt/local/etc/afp.conf",
    "/etc/afp.conf",
)
EXIT_PROBLEMS = 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("cnid", help="inspect Netatalk CNID databases; move one onto its own dataset")
    verbs = parser.add_subparsers(dest="cnid_verb", required=True, metavar="ACTION")
    check = verbs.add_parser("check", help="compare a volume's CNID database with its files and metadata EAs")
    check.add_argument("target", metavar="VOLUME_OR_PATH", help="afp.conf volume name, or a path inside a volume")
    check.add_argument("--afp-conf", type=Path, help="afp.conf to read (default: the first of the usual places)")
    check.add_argument(
        "--statedir", help="netatalk's state directory (default CNID home; default: what `afpd -V` says)"
    )
    check.add_argument("--examples", type=int, default=5, help="examples shown per finding (default 5)")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument(
        "--live",
        action="store_true",
        help="read cnid2.db even while cnid_dbd has it open (recent changes are then missing: expect false findings)",
    )
    check.set_defaults(handler=run_check)
    register_migrate(verbs)


def load_afp_conf(path: Path | None, statedir: str | None) -> AfpConf:
    """afp.conf as the installed netatalk reads it (its version decides the case of `$v`, its build the state
    directory; ``statedir`` overrides the latter)."""
    found_statedir, lower, _ = derivation(probe_netatalk(), DEFAULT_STATEDIR)
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
        statedir=statedir or found_statedir,
        hostname=socket.gethostname(),
        lower_names=lower,
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


def register_migrate(verbs: Any) -> None:
    migrate = verbs.add_parser(
        "migrate", help="move a target's CNID database onto a dataset of its own (later rollbacks are then paired)"
    )
    migrate.add_argument("target", help="target name in the configuration")
    migrate.add_argument(
        "--dataset", help="the dataset for the database (default: the target's cnid_dataset, else DATASET-cnid)"
    )
    migrate.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    migrate.add_argument("--yes", action="store_true", help="do it without asking (needed without a terminal)")
    migrate.add_argument("--json", action="store_true", help="the plan (and the outcome) as JSON")
    add_config_argument(migrate)
    migrate.set_defaults(handler=run_migrate)


def _migration_plan(target: Target, backend: ZfsBackend, dataset: str | None) -> MigrationPlan:
    fs = target.file_server
    if fs.kind is not FileServerKind.NETATALK or not fs.afp_conf:
        raise UsageError(f"target {target.name}: only a Netatalk share (with afp_conf) has a CNID database to move")
    conf = load_afp_conf(Path(fs.afp_conf), None)
    share = backend.get_properties(target.dataset, ["mountpoint"]).get("mountpoint") or ""
    volumes = volumes_on_dataset(conf, share)
    if not volumes:
        raise UsageError(f"target {target.name}: no volume of {fs.afp_conf} serves {share}")
    volume = volumes[0]
    old = resolve_db_dir(volume.db_dir)
    if not (Path(old) / PRIMARY).is_file():
        raise CnidDatabaseError(f"{old}/{PRIMARY}: volume {volume.name} has no CNID database there; nothing to move")
    name = DatasetName(dataset or (target.cnid_dataset.full if target.cnid_dataset else f"{target.dataset}-cnid"))
    exists = backend.exists(name)
    mountpoint = (backend.get_properties(name, ["mountpoint"]).get("mountpoint") if exists else None) or ""
    if not exists:
        parent = backend.get_properties(DatasetName(name.full.rsplit("/", 1)[0]), ["mountpoint"]).get("mountpoint")
        mountpoint = f"{(parent or '').rstrip('/')}/{name.full.rsplit('/', 1)[1]}"
    if mountpoint in ("", "none", "legacy", "-"):
        raise UsageError(f"{name} has no usable mountpoint ({mountpoint or 'none'}); give it one or pick --dataset")
    if old.startswith(mountpoint.rstrip("/") + "/"):
        raise UsageError(f"volume {volume.name}'s database {old} is on {name} already: nothing to move")
    if name == target.dataset or target.dataset.is_ancestor_of(name) or name.is_ancestor_of(target.dataset):
        raise UsageError(f"{name} is the share or contains it: the database needs a dataset of its own")
    return MigrationPlan(
        target=target.name,
        volume=volume.name,
        section=volume.section,
        afp_conf=fs.afp_conf,
        share=share,
        old_db_dir=old,
        dataset=name.full,
        create_dataset=not exists,
        mountpoint=mountpoint,
    )


def run_migrate(args: argparse.Namespace) -> int:
    config = load_from_args(args)
    (target,) = select_targets(config, [args.target])
    backend = backend_for(config, args)
    plan = _migration_plan(target, backend, args.dataset)
    sys.stdout.write(json.dumps(plan.to_json()) + "\n" if args.json else plan.text())
    if args.dry_run:
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("standard input is not a terminal: pass --yes to confirm the migration")
        if input("Move the database now? Type 'yes': ").strip().lower() != "yes":
            raise UsageError("not confirmed; nothing was changed")
    with target_lock(target.name, run_dir_for(config)):
        outcome = _migrate(plan, target, backend)
    print(json.dumps(outcome) if args.json else f"zfstm cnid migrate: {outcome['summary']}")
    return 0


def _migrate(plan: MigrationPlan, target: Target, backend: ZfsBackend) -> dict[str, Any]:
    """Run the plan; on any failure after the server stopped, afp.conf is put back and the server started."""
    from zfstm.service.factory import server_for

    server = server_for(target, [Path(plan.share), Path(plan.old_db_dir)])
    if server is None:
        raise UsageError(f"target {target.name}: no file server is configured to stop while the database moves")
    if plan.create_dataset:
        backend.create_filesystem(DatasetName(plan.dataset))
    conf_path = Path(plan.afp_conf)
    original = conf_path.read_bytes()
    backup = conf_path.with_name(
        f"{conf_path.name}.zfstm-before-migrate-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    )
    server.stop()
    try:
        counter, counts = cnid_counter.copy_database(Path(plan.old_db_dir), Path(plan.new_db_dir))
        text = set_section_option(original.decode("utf-8", "surrogateescape"), plan.afp_conf, plan.section,
                                  "vol dbpath", plan.dbpath)  # fmt: skip
        shutil.copy2(conf_path, backup)
        write_atomically(conf_path, text.encode("utf-8", "surrogateescape"))
        _check_moved(plan)
    except BaseException:
        if conf_path.read_bytes() != original:
            write_atomically(conf_path, original)
        server.start()
        raise
    server.start()
    return {
        "summary": f"volume {plan.volume}'s database is {plan.new_db_dir} (counter {counter}); the old one stays in "
        f'{plan.old_db_dir}; afp.conf was {backup.name}; add cnid_dataset = "{plan.dataset}" to target '
        f"{plan.target}",
        "counter": counter,
        "items": counts,
        "afp_conf_backup": str(backup),
        "plan": plan.to_json(),
    }


def _check_moved(plan: MigrationPlan) -> None:
    """afp.conf, read again as netatalk reads it, puts the volume's database at the new place."""
    moved = load_afp_conf(Path(plan.afp_conf), None).volume(plan.volume)
    if moved is None or resolve_db_dir(moved.db_dir) != plan.new_db_dir:
        raise CnidDatabaseError(
            f"{plan.afp_conf}: after the edit volume {plan.volume}'s database is "
            f"{moved.db_dir if moved else 'gone'}, not {plan.new_db_dir}; afp.conf is put back"
        )
