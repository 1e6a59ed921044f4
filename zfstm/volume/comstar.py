"""COMSTAR (illumos' SCSI target) through ``stmfadm`` and ``itadm``: the commands that export a zvol.

UNVERIFIED: written from the illumos manual pages stmfadm(8) and itadm(8), never run by zfstm's tests (the testbed
is Linux). zfstm prints these commands in the provisioning plan; on illumos it runs them only when asked to.

A COMSTAR logical unit is named by a GUID; zfstm chooses it (``create-lu -p guid=``) from the IQN and LUN, so the
unit the Mac sees keeps its identity when a rollback deletes and creates it again on the swapped zvol.
"""

from __future__ import annotations

import hashlib

from zfstm.volume.model import VolumeExport

STMFADM = "stmfadm"
ITADM = "itadm"
SVCADM = "svcadm"


def lu_guid(export: VolumeExport, lun: int) -> str:
    """A stable 32-hex-digit GUID: Sun's NAA prefix ``600144f0`` and 24 digits of SHA-256 of IQN and LUN."""
    digest = hashlib.sha256(f"{export.iqn}/{lun}".encode()).hexdigest()
    return "600144f0" + digest[:24]


def create_target(export: VolumeExport) -> tuple[tuple[str, ...], ...]:
    return (
        (SVCADM, "enable", "-rs", "svc:/system/stmf:default"),
        (SVCADM, "enable", "-rs", "svc:/network/iscsi/target:default"),
        (ITADM, "create-target", "-n", export.iqn),
    )


def create_lun(export: VolumeExport, device: str, lun: int, *, readonly: bool = False) -> tuple[tuple[str, ...], ...]:
    guid = lu_guid(export, lun)
    create = [STMFADM, "create-lu", "-p", f"guid={guid}"]
    if readonly:
        create += ["-p", "wp=true"]
    return ((*create, device), (STMFADM, "add-view", "-n", str(lun), guid))


def delete_lun(export: VolumeExport, lun: int) -> tuple[tuple[str, ...], ...]:
    """``delete-lu`` removes the unit and its views and closes the zvol."""
    return ((STMFADM, "delete-lu", lu_guid(export, lun)),)


def list_target(export: VolumeExport) -> tuple[str, ...]:
    """``itadm list-target -v IQN``: its ``Sessions:`` line counts logged-in initiators."""
    return (ITADM, "list-target", "-v", export.iqn)


def sessions_from(text: str) -> int | None:
    """The session count ``itadm list-target -v`` prints, or None when it says none of it."""
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key.strip().lower() == "sessions" and value.strip().isdigit():
            return int(value.strip())
    return None
