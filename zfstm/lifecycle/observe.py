"""The shell that looks: ZFS listings, the share's Time Machine files, open file-server sessions, the last look.

Nothing here writes to ZFS or to the share. The only file written is the small per-target state in the state
directory (``written`` at the last look), which lets the detector see a dataset still growing between two ticks;
losing it only makes that one signal unknown for a tick.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import attrs

from zfstm.config.model import Config, FileServerKind, Target
from zfstm.lifecycle.model import TargetObservation
from zfstm.lock import lock_file_name
from zfstm.service.holder_scan import default_scanner
from zfstm.snapshots.memory import Memory
from zfstm.snapshots.model import DatasetState
from zfstm.snapshots.reader import read_dataset, read_datasets
from zfstm.timemachine.detector import DetectorSettings
from zfstm.timemachine.reader import read_share
from zfstm.timemachine.share import ShareScan
from zfstm.timemachine.timefmt import format_utc, parse_utc
from zfstm.volume.control import ExportControl
from zfstm.volume.detector import VolumeLook, next_quiet_since
from zfstm.zfs import DatasetName, ZfsBackend

log = logging.getLogger("zfstm.lifecycle")

#: Programs whose processes count as open sessions on a share (the per-session servers, not the masters).
SESSION_PROGRAMS = {FileServerKind.NETATALK: frozenset({"afpd"}), FileServerKind.SAMBA: frozenset({"smbd"})}

SessionCounter = Callable[[Target, str], int | None]


def share_path(backend: ZfsBackend, target: Target, state: DatasetState | None = None) -> str:
    """The configured share path, else the dataset's mountpoint (from its listing when that read it)."""
    if target.share_path is not None:
        return target.share_path
    if state is not None and state.mountpoint is not None:
        return state.mountpoint
    mountpoint = backend.get_properties(target.dataset, ["mountpoint"]).get("mountpoint")
    return mountpoint or ""


def _listed(
    listed: Mapping[str, DatasetState | Exception] | None,
    dataset: DatasetName,
    read: Callable[[], DatasetState],
) -> DatasetState:
    """The dataset's state from the tick's one listing, else read now; its listing's error raised as it is."""
    found = listed.get(dataset.full) if listed is not None else None
    if found is None:
        return read()
    if isinstance(found, Exception):
        raise found
    return found


def scan_share(path: str, target: Target) -> ShareScan:
    """Read the share; with a configured bundle list, only those bundles count."""
    scan = read_share(Path(path))
    if target.sparsebundles is None:
        return scan
    wanted = set(target.sparsebundles)
    return ShareScan(scan.path, tuple(b for b in scan.bundles if b.ref.name in wanted), scan.listing)


def count_sessions(target: Target, path: str) -> int | None:
    """Per-session file-server processes (afpd, smbd) using anything under the share, or None when unknowable.

    Uses the same /proc (Linux) or fuser (illumos) scan that verifies a stopped server. A process zfstm may not
    inspect (not root) makes the count unknown rather than zero.
    """
    names = SESSION_PROGRAMS.get(target.file_server.kind)
    if names is None or not path:
        return None
    try:
        holders = default_scanner(names)([Path(path)])
    except Exception as exc:  # a failed look is "not known", never a failed tick
        log.debug("%s: cannot count sessions on %s: %s", target.name, path, exc)
        return None
    if any(holder.path == "?" for holder in holders):
        return None
    return len({holder.pid for holder in holders})


# -- the small state file -------------------------------------------------------------------------------------------


def state_file(state_dir: Path, target: str) -> Path:
    return state_dir / lock_file_name(target).replace(".lock", ".json")


def _saved(state_dir: Path | None, target: str) -> dict[str, object]:
    """The last look's record, or {} when there is none or it cannot be read."""
    if state_dir is None:
        return {}
    try:
        saved = json.loads(state_file(state_dir, target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


def previous_written(state_dir: Path | None, target: str, state: DatasetState) -> int | None:
    """``written`` at the previous look, if the newest snapshot is still the same one (else it was reset)."""
    saved = _saved(state_dir, target)
    newest = state.newest
    if not saved or saved.get("newest") != (newest.name.full if newest else None):
        return None
    value = saved.get("written")
    return value if isinstance(value, int) else None


def volume_look(state_dir: Path | None, target: Target, data: DatasetState, writes: int | None) -> VolumeLook:
    """A volume's counters now and at the last look, and since when they have stood still."""
    saved = _saved(state_dir, target.name)
    previous_writes = saved.get("writes")
    quiet_since = saved.get("quiet_since")
    return VolumeLook(
        written=data.written,
        previous_written=previous_written(state_dir, target.name, data),
        writes=writes,
        previous_writes=previous_writes if isinstance(previous_writes, int) else None,
        quiet_since=parse_utc(quiet_since) if isinstance(quiet_since, str) else None,
    )


def remember_written(
    state_dir: Path | None,
    target: str,
    state: DatasetState,
    now: datetime,
    *,
    volume: tuple[VolumeLook, DetectorSettings] | None = None,
) -> None:
    """Record this look's ``written`` (atomically: write a temporary file, then rename). Failure only logs.

    For a volume target also its write counter and since when nothing grew (the volume detector's memory)."""
    if state_dir is None or state.written is None:
        return
    newest = state.newest
    document: dict[str, object] = {"dataset": state.dataset.full, "newest": newest.name.full if newest else None}
    document |= {"written": state.written, "at": now.isoformat()}
    if volume is not None:
        look, settings = volume
        document |= {"writes": look.writes, "quiet_since": format_utc(next_quiet_since(look, settings, now))}
    path = state_file(state_dir, target)
    try:
        state_dir.mkdir(mode=0o770, parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(document) + "\n", encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        log.warning("%s: cannot record the last look in %s (%s); growth of 'written' stays unknown", target, path, exc)


def observe(
    backend: ZfsBackend,
    config: Config,
    target: Target,
    *,
    state_dir: Path | None,
    sessions: SessionCounter = count_sessions,
    listed: Mapping[str, DatasetState | Exception] | None = None,
) -> TargetObservation:
    """One look at a target: share files, dataset and CNID listings, sessions, and the previous ``written``.

    ``listed`` is the tick's one listing of all its datasets (:func:`listing_of`); a dataset missing from it is read
    here."""
    naming, adopted = config.naming.scheme, config.naming.adopted
    basis = target.retention.space.basis if target.retention.space is not None else None
    data = _listed(
        listed,
        target.dataset,
        lambda: read_dataset(backend, target.dataset, naming=naming, adopted=adopted, usage_basis=basis),
    )
    cnid_dataset = target.cnid_dataset
    cnid = (
        _listed(
            listed,
            cnid_dataset,
            lambda: read_dataset(backend, cnid_dataset, naming=naming, adopted=adopted, written=False),
        )
        if cnid_dataset is not None
        else None
    )
    if target.volume is not None:  # nothing to read inside the Mac's filesystem: the volume's counters only
        export = ExportControl(target.volume, target.dataset)
        try:
            logged_in = export.sessions()
            writes = export.write_counter()
        except Exception as exc:  # a failed look is "not known", never a failed tick
            log.debug("%s: cannot read the export's state: %s", target.name, exc)
            logged_in, writes = None, None
        return TargetObservation(
            target=target,
            scan=ShareScan("", ()),
            data=data,
            open_sessions=None if logged_in is None else len(logged_in),
            volume=volume_look(state_dir, target, data, writes),
        )
    path = share_path(backend, target, data)
    return TargetObservation(
        target=target,
        scan=scan_share(path, target),
        data=data,
        cnid=cnid,
        open_sessions=sessions(target, path),
        previous_written=previous_written(state_dir, target.name, data),
        share_path=path,
    )


def listing_of(
    backend: ZfsBackend,
    config: Config,
    targets: Sequence[Target],
    *,
    written: bool = True,
    memory: Memory | None = None,
) -> dict[str, DatasetState | Exception]:
    """Every dataset of ``targets`` (shares and CNID datasets) read at once: one batch per pool.

    A CNID dataset's ``written`` is not read (as :func:`observe` reads it), whatever ``written`` says."""
    usage = {
        target.dataset.full: target.retention.space.basis for target in targets if target.retention.space is not None
    }
    datasets = [d for target in targets for d in (target.dataset, target.cnid_dataset) if d is not None]
    naming, adopted = config.naming.scheme, config.naming.adopted
    found = read_datasets(
        backend, datasets, naming=naming, adopted=adopted, written=written, usage=usage, memory=memory
    )
    cnids = {target.cnid_dataset.full for target in targets if target.cnid_dataset is not None}
    shares = {target.dataset.full for target in targets}
    for name in cnids - shares:
        state = found.get(name)
        if isinstance(state, DatasetState):
            found[name] = attrs.evolve(state, written=None)
    return found
