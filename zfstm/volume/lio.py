"""LIO (the Linux kernel's SCSI target) through ``targetcli``: the commands that export, unexport and browse a zvol,
and what configfs says about sessions and writes.

Commands are built here as argument lists (one ``targetcli`` process per command: a failure names its command) and
run by :mod:`zfstm.volume.control`. Reading goes straight to configfs (``/sys/kernel/config/target``), read-only:
it is what targetcli itself reads, without its start-up cost (4-7 s per process in the testbed's emulated VM).

Seen in the testbed (targetcli-fb 2.1.53, Linux 6.12): targetcli connects to the system D-Bus at start-up even for
block backstores and fails with ``g-io-error-quark: Could not connect`` without one; the iSCSI target's directory is
``iscsi/<iqn>/tpgt_1`` (targetcli calls it ``tpg1``); the backstore's ``statistics/scsi_lu/write_mbytes`` counts
megabytes written through every LUN of it, and starts again at 0 when the backstore is created again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs

from zfstm.volume.model import VolumeExport

TARGETCLI = "targetcli"
CONFIGFS = Path("/sys/kernel/config/target")
TPG = "tpg1"


def _tpg(export: VolumeExport) -> str:
    return f"/iscsi/{export.iqn}/{TPG}"


def create_target(export: VolumeExport, *, initiators: Sequence[str] = ()) -> tuple[tuple[str, ...], ...]:
    """The iSCSI target and its access: an ACL per initiator, else any initiator (generated ACLs, no auth)."""
    commands: list[tuple[str, ...]] = [(TARGETCLI, "/iscsi", "create", export.iqn)]
    host, _, port = export.portal.rpartition(":")
    if (host, port) != ("0.0.0.0", "3260"):  # noqa: S104 - targetcli's default portal, already created
        commands.append((TARGETCLI, f"{_tpg(export)}/portals", "delete", "0.0.0.0", "3260"))  # noqa: S104
        commands.append((TARGETCLI, f"{_tpg(export)}/portals", "create", host, port))
    if initiators:
        commands += [(TARGETCLI, f"{_tpg(export)}/acls", "create", initiator) for initiator in initiators]
    else:
        commands.append(
            (TARGETCLI, _tpg(export), "set", "attribute", "authentication=0", "demo_mode_write_protect=0",
             "generate_node_acls=1", "cache_dynamic_acls=1")
        )  # fmt: skip
    return tuple(commands)


def create_lun(
    export: VolumeExport, backstore: str, device: str, lun: int, *, readonly: bool = False
) -> tuple[tuple[str, ...], ...]:
    """A block backstore on ``device`` and its LUN ``lun`` (mapped into every ACL: targetcli's default)."""
    create = [TARGETCLI, "/backstores/block", "create", f"name={backstore}", f"dev={device}"]
    if readonly:
        create.append("readonly=True")
    return (
        tuple(create),
        (TARGETCLI, f"{_tpg(export)}/luns", "create", f"/backstores/block/{backstore}", f"lun={lun}"),
    )


def delete_lun(export: VolumeExport, backstore: str, lun: int) -> tuple[tuple[str, ...], ...]:
    """The LUN (the initiators see the disk go) and its backstore (which lets go of the zvol's device)."""
    return (
        (TARGETCLI, f"{_tpg(export)}/luns", "delete", f"lun={lun}"),
        (TARGETCLI, "/backstores/block", "delete", backstore),
    )


SAVE = (TARGETCLI, "saveconfig")


@attrs.frozen
class LioState:
    """What configfs shows for one export (everything False/empty when LIO is not loaded)."""

    target_exists: bool
    luns: frozenset[int]
    #: LUN number -> the backstore it shows (a symlink in the LUN's directory, as rtslib reads it)
    lun_stores: tuple[tuple[int, str], ...]
    backstores: frozenset[str]
    sessions: tuple[str, ...]
    write_mbytes: int | None

    def has_lun(self, lun: int) -> bool:
        return lun in self.luns

    def store_of(self, lun: int) -> str | None:
        return dict(self.lun_stores).get(lun)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def sessions_in(tpgt: Path) -> tuple[str, ...]:
    """Initiators logged in: demo-mode ``dynamic_sessions`` plus every ACL whose ``info`` names a live session."""
    names = [line.strip() for line in (_read(tpgt / "dynamic_sessions") or "").splitlines() if line.strip()]
    for acl in sorted((tpgt / "acls").glob("*")) if (tpgt / "acls").is_dir() else ():
        info = _read(acl / "info") or ""
        if "InitiatorName:" in info:
            names.append(acl.name)
    return tuple(dict.fromkeys(names))


def read_state(export: VolumeExport, backstore: str, root: Path = CONFIGFS) -> LioState:
    """The export as configfs shows it; ``write_mbytes`` is the backstore's write counter (None when absent)."""
    tpgt = root / "iscsi" / export.iqn / "tpgt_1"
    luns = frozenset(
        int(path.name.removeprefix("lun_"))
        for path in (tpgt / "lun").glob("lun_*")
        if path.name.removeprefix("lun_").isdigit()
    )
    stores = {path.name: path for path in root.glob("core/iblock_*/*") if path.is_dir()}
    links = tuple(
        (int(lun_dir.name.removeprefix("lun_")), link.resolve().name)
        for lun_dir in (tpgt / "lun").glob("lun_*")
        if lun_dir.name.removeprefix("lun_").isdigit()
        for link in lun_dir.iterdir()
        if link.is_symlink()
    )
    counter = _read(stores[backstore] / "statistics" / "scsi_lu" / "write_mbytes") if backstore in stores else None
    return LioState(
        target_exists=tpgt.is_dir(),
        luns=luns,
        lun_stores=links,
        backstores=frozenset(stores),
        sessions=sessions_in(tpgt) if tpgt.is_dir() else (),
        write_mbytes=int(counter.strip()) if counter is not None and counter.strip().isdigit() else None,
    )
