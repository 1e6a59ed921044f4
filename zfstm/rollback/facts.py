"""Gather the facts a rollback is planned from (shell): snapshots, holds, local properties, afp.conf.

Besides snapshots and holds, a dataset's *local* properties matter (a clone does not inherit them from its origin)
and whether it has child datasets (a rename would carry them along). See docs/rollback.md.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from zfstm.config.model import Config, FileServerKind, Target
from zfstm.errors import AfpConfError, ZfstmError
from zfstm.netatalk.afpconf import (
    DEFAULT_STATEDIR,
    AfpConf,
    parse_afp_conf,
    volumes_on_dataset,
    volumes_with_database_on,
)
from zfstm.netatalk.cniddb import PRIMARY, read_cnid_database
from zfstm.netatalk.rebuild import highest_handed_out, rebuild_records
from zfstm.netatalk.scan import scan_volume
from zfstm.netatalk.version import NetatalkBuild, derivation, probe_netatalk, resolve_db_dir
from zfstm.rollback.model import ISCSI, CnidFacts, CnidStrategy, DatasetFacts, RollbackFacts, RollbackPlan, StepKind
from zfstm.rollback.planner import BEFORE_PROP, replica_refusal
from zfstm.snapshots.tags import KNOWN_GOOD_HOLD
from zfstm.textfile import UnreadableFile, read_small_text
from zfstm.zfs.backend import ZfsBackend
from zfstm.zfs.names import DatasetName
from zfstm.zfs.types import SnapshotProperty

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def dataset_facts(backend: ZfsBackend, name: DatasetName) -> DatasetFacts:
    return with_holds(backend, listed_facts(backend, name))


def listed_facts(backend: ZfsBackend, name: DatasetName) -> DatasetFacts:
    """Everything but the hold tags (what the listings and properties say; held snapshots get empty tags).

    Kept apart from :func:`with_holds` so that a rollback asks for every listing first: those are ``zfs``
    processes, during which pyzfs finishes importing in the background (holds are libzfs_core calls). The
    snapshots, bookmarks and dataset properties come from the snapshot model's one listing call
    (``list_datasets``: one ``zfs get`` and one ``zfs list -t snapshot,bookmark``)."""
    listed = backend.list_datasets([name], [SnapshotProperty.USERREFS], (), ["mountpoint", "origin", BEFORE_PROP])
    listing, props = listed[name.full].snapshots, listed[name.full].properties
    return DatasetFacts(
        name=name,
        mountpoint=props.get("mountpoint") or "-",
        local_props=backend.local_properties(name),
        snapshots=tuple((info.name.short, info.createtxg) for info in listing),
        holds={info.name.short: () for info in listing if (info.userrefs or 0) > 0},
        has_children=backend.has_children(name),
        origin=props.get("origin"),
        rollback_before=props.get(BEFORE_PROP),
        bookmarks=tuple((mark.short, mark.createtxg) for mark in listed[name.full].bookmarks),
    )


def with_holds(backend: ZfsBackend, listed: DatasetFacts) -> DatasetFacts:
    """``listed`` with the tags of its held snapshots (snapshots whose holds are gone by now are left out)."""
    tags = {short: tuple(sorted(backend.holds(listed.name.snapshot(short)))) for short in listed.holds}
    return attrs.evolve(listed, holds={k: v for k, v in tags.items() if v})


def cnid_facts(
    conf: AfpConf,
    config: Config,
    target: Target,
    data: DatasetFacts,
    cnid_ds: DatasetFacts | None,
    *,
    platform: str,
    derived: str = "",
    is_file: Callable[[str], bool] = os.path.isfile,
) -> CnidFacts | None:
    """The volume serving the share and where its database really is (resolved, and whether cnid2.db is there)."""
    volumes = volumes_on_dataset(conf, data.mountpoint)
    if not volumes:
        return None
    volume = volumes[0]
    db_dir = resolve_db_dir(volume.db_dir)
    if db_dir != volume.db_dir:
        derived = f"{derived}; {volume.db_dir} resolves to {db_dir}" if derived else f"resolves to {db_dir}"
    others: list[str] = []
    if cnid_ds is not None:
        others += [v.name for v in volumes_with_database_on(conf, cnid_ds.mountpoint) if v.name != volume.name]
        others += [
            f"target {t.name}" for t in config.targets if t.name != target.name and t.cnid_dataset == cnid_ds.name
        ]
    return CnidFacts(
        volume=volume.name,
        db_dir=db_dir,
        cnid_dev=volume.cnid_dev,
        scheme=volume.cnid_scheme,
        others_on_cnid_dataset=tuple(dict.fromkeys(others)),
        platform=platform,
        db_exists=is_file(f"{db_dir}/{PRIMARY}"),
        derived=derived,
    )


def gather(
    backend: ZfsBackend,
    config: Config,
    target: Target,
    *,
    now: datetime,
    state_dir: Path,
    platform: str,
    read_text: Any = None,
    build: NetatalkBuild | None = None,
) -> RollbackFacts:
    """All facts for planning a rollback (or an undo) of ``target``."""
    if target.replica:  # before any listing or afp.conf: a replica often has neither a server nor a mounted share
        raise replica_refusal(target.name)
    listed = listed_facts(backend, target.dataset)
    cnid_listed = listed_facts(backend, target.cnid_dataset) if target.cnid_dataset is not None else None
    data = with_holds(backend, listed)
    cnid_ds = with_holds(backend, cnid_listed) if cnid_listed is not None else None
    fs = target.file_server
    cnid = None
    if fs.kind is FileServerKind.NETATALK and fs.afp_conf:
        text = (read_text or _read_afp_conf)(fs.afp_conf)
        statedir, lower, derived = derivation(probe_netatalk() if build is None else build, DEFAULT_STATEDIR)
        conf = parse_afp_conf(text, fs.afp_conf, hostname=socket.gethostname(), statedir=statedir, lower_names=lower)
        cnid = cnid_facts(conf, config, target, data, cnid_ds, platform=platform, derived=derived)
    before = cnid_before = None
    if data.rollback_before and backend.exists(DatasetName(data.rollback_before)):
        before = dataset_facts(backend, DatasetName(data.rollback_before))
    if cnid_ds is not None and cnid_ds.rollback_before and backend.exists(DatasetName(cnid_ds.rollback_before)):
        cnid_before = dataset_facts(backend, DatasetName(cnid_ds.rollback_before))
    server, server_name = fs.kind, fs.service or fs.kind.value
    if target.volume is not None:  # the export stands where a file server would: offline, then back
        server, server_name = ISCSI, target.volume.title
    return RollbackFacts(
        target=target.name,
        server=server,
        server_name=server_name,
        data=data,
        cnid_dataset=cnid_ds,
        cnid=cnid,
        known_good=tuple(s for s, tags in data.holds.items() if KNOWN_GOOD_HOLD in tags),
        stamp=now.strftime(STAMP_FORMAT),
        journal_on_tmpfs=on_tmpfs(state_dir),
        before=before,
        cnid_before=cnid_before,
        replica=target.replica,
    )


def _read_afp_conf(path: str) -> str:
    """The configured afp.conf through the one bounded reader (a regular file of bounded size, UTF-8)."""
    try:
        return read_small_text(path, errors="surrogateescape")
    except UnreadableFile as exc:
        raise AfpConfError(f"{path}: afp.conf {exc}") from None


#: Directories that are RAM-backed on the usual Linux and illumos layouts: a journal there does not survive a reboot.
VOLATILE_ROOTS = ("/run", "/var/run", "/dev/shm", "/tmp")  # noqa: S108 - only compared against, never written


def on_tmpfs(path: Path) -> bool:
    """True when ``path`` lies under a directory that is RAM-backed on common systems."""
    return any(path == Path(root) or Path(root) in path.parents for root in VOLATILE_ROOTS)


def watched_paths(plan: RollbackPlan) -> Sequence[Path]:
    """Directories whose holders must be gone before the rollback: the share and its CNID database (from the
    plan's stop step, so a resumed rollback watches the same ones even while the datasets are mid-swap)."""
    stop = next((s for s in plan.steps if s.kind is StepKind.STOP_SERVER), None)
    if stop is None:
        return []
    paths = [Path(stop.args[key]) for key in ("share", "db_dir") if key in stop.args]
    return [p for p in paths if p.is_dir()]


def forecast_cnids(plan: RollbackPlan, facts: RollbackFacts) -> RollbackPlan:
    """The plan with what the rebuild will do to CNIDs, counted before anything runs: the snapshot's files are
    scanned in ``.zfs/snapshot`` and matched against the live database (read-only, while netatalk serves: a
    forecast, the step decides again on the stopped database). Files with neither a metadata EA nor a record (written
    on the server, never seen over AFP) are the ones whose CNID changes; the plan says how many, never silently."""
    if plan.strategy not in (CnidStrategy.REBUILD, CnidStrategy.RESET) or plan.snapshot is None or facts.cnid is None:
        return plan
    short = plan.snapshot.partition("@")[2]
    root = Path(facts.data.mountpoint) / ".zfs" / "snapshot" / short
    try:
        live = read_cnid_database(Path(facts.cnid.db_dir))
        scan = scan_volume(root)
    except (ZfstmError, OSError) as exc:
        note = f"could not count the CNIDs that will change beforehand ({exc}); the rebuild step reports them"
        return attrs.evolve(plan, warnings=(*plan.warnings, note))
    # while netatalk serves, cnid2.db lags its log: the counter the step will read (netatalk stopped) is at least
    # every CNID an EA caches, so the forecast takes that as its mark
    mark = max([highest_handed_out(live), *(e.ea.cnid for e in scan.entries if e.ea is not None)])
    done = rebuild_records(live, scan, mark=mark, dev=0, use_hints=plan.strategy is CnidStrategy.REBUILD)
    entries = len(scan.entries) - 1
    if plan.strategy is CnidStrategy.RESET:
        note = f"reset: all {entries} files and directories of the snapshot get a new CNID above {mark}"
    elif done.changed == 0:
        note = f"all {entries} files and directories of the snapshot keep their CNIDs (from their EAs or records)"
    else:
        shown = ", ".join(list(done.new[:3]) + list(done.skipped[:2]))
        note = (
            f"{done.changed} of {entries} files and directories will get a new CNID above {mark} (they have neither "
            f"a metadata EA nor a database record: written on the server, not over AFP; e.g. {shown})"
        )
    return attrs.evolve(plan, warnings=(*plan.warnings, note))
