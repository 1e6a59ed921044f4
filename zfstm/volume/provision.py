"""What `zfstm provision --server iscsi` does, as a plan: the zvol of one Mac and its export (iSCSI, or with
``--export nbd`` an nbd-server section and authfile to write). Pure.

Property choices (docs/volumes.md says the same at more length):

- ``volblocksize=16K`` (``--volblocksize``; fixed at creation): OpenZFS 2.2's default. The Mac's filesystem writes
  4 KiB metadata blocks between Time Machine's large sequential writes; a bigger block compresses better but turns
  each small write after a snapshot into a read-modify-write of the whole block and a whole block kept by the
  snapshot. 16K keeps both moderate.
- ``compression=lz4``: free on a backup stream, and lz4 gives up early on incompressible (encrypted) blocks.
- sparse (``refreservation=none``, the default) or ``--reservation full`` (``refreservation=auto``): a sparse volume
  takes pool space only as the Mac writes, so snapshots and other Macs share the free space; but when the pool
  fills, the Mac's writes fail as I/O errors inside its filesystem, worse than a full share. Full reserves the whole
  volume up front, and then every snapshot of a volume that has been written needs as much free space again as the
  volume references, or ``zfs snapshot`` fails with "out of space". zfstm chooses sparse and says to watch
  capacity (``zfstm check``).
- ``volmode=dev`` on Linux: the server sees one block device, not the Mac's partitions (no probing by udev/blkid).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs

from zfstm.volume import comstar, lio, nbd
from zfstm.volume.model import ExportKind, VolumeExport, backstore_name, device_path
from zfstm.zfs import DatasetName

Reservation = Literal["sparse", "full"]
DEFAULT_VOLBLOCKSIZE = "16K"
_BLOCK_SIZES = ("4K", "8K", "16K", "32K", "64K", "128K")


@attrs.frozen
class VolumeRequest:
    """What the administrator asked for."""

    dataset: DatasetName
    size_bytes: int
    export: VolumeExport
    platform: str
    volblocksize: str = DEFAULT_VOLBLOCKSIZE
    reservation: Reservation = "sparse"
    #: iSCSI: the initiators' IQNs (LIO ACLs); NBD: the client addresses or networks of the authfile
    initiators: tuple[str, ...] = ()


@attrs.frozen
class VolumePlan:
    """The zvol to create (unless it exists), the export commands in order, the files to write (path, text: the
    NBD section and authfile), and notes for the administrator."""

    request: VolumeRequest
    exists: bool
    properties: tuple[tuple[str, str], ...]
    commands: tuple[tuple[str, ...], ...]
    advice: tuple[str, ...]
    files: tuple[tuple[str, str], ...] = ()


def volume_properties(request: VolumeRequest) -> tuple[tuple[str, str], ...]:
    if request.volblocksize.upper() not in _BLOCK_SIZES:
        raise ValueError(f"--volblocksize {request.volblocksize}: choose one of {', '.join(_BLOCK_SIZES)}")
    props = [
        ("volblocksize", request.volblocksize.upper()),
        ("compression", "lz4"),
        ("refreservation", "none" if request.reservation == "sparse" else "auto"),
    ]
    if request.platform == "linux":
        props.append(("volmode", "dev"))
    return tuple(props)


def export_commands(request: VolumeRequest, *, target_exists: bool) -> tuple[tuple[str, ...], ...]:
    """The commands that export the zvol as ``export.lun`` of ``export.iqn`` (the target made first if needed)."""
    export, device = request.export, device_path(request.dataset, request.platform)
    if export.kind is ExportKind.NBD:
        return ()  # nbd-server is configured by files (export_files) and a SIGHUP
    if export.kind is ExportKind.COMSTAR:
        target = () if target_exists else comstar.create_target(export)
        return (*target, *comstar.create_lun(export, device, export.lun))
    target = () if target_exists else lio.create_target(export, initiators=request.initiators)
    return (*target, *lio.create_lun(export, backstore_name(request.dataset), device, export.lun), lio.SAVE)


def export_files(request: VolumeRequest) -> tuple[tuple[str, str], ...]:
    """NBD: the export's section (in nbd-server's includedir) and its authfile; nothing for iSCSI."""
    export = request.export
    if export.kind is not ExportKind.NBD:
        return ()
    section = nbd.section_text(export, device_path(request.dataset, request.platform))
    return (
        (str(nbd.section_path(export)), section),
        (str(nbd.authfile_path(export)), nbd.authfile_text(request.initiators)),
    )


def plan_volume(request: VolumeRequest, *, exists: bool, target_exists: bool) -> VolumePlan:
    """The whole plan; ValueError for a request that cannot be carried out (the CLI names the option)."""
    props = volume_properties(request)
    advice = [
        "sparse volume: it takes pool space only as the Mac writes; keep the pool below 80% (zfstm check warns)"
        if request.reservation == "sparse"
        else "fully reserved volume: every snapshot needs free space equal to what the volume references",
    ]
    if request.export.kind is ExportKind.NBD:
        export = request.export
        advice += [
            f"nbd-server must read {export.config_dir}: `includedir = {export.config_dir}` in the [generic] "
            "section of its main configuration, and be able to open the zvol (leave out user/group, or give that "
            "user the disk group); zfstm sends it SIGHUP to serve the new export, or start it",
            f"on the client: `nbd-client -N {export.export_name} SERVER /dev/nbd0`; macOS has no NBD client of its "
            "own, so this export suits Linux clients and tests (docs/volumes.md#nbd)",
        ]
        if not request.initiators:
            advice.append("no --initiator given: any client that reaches port 10809 may connect; name addresses")
    else:
        advice += [
            f"on the Mac: connect an iSCSI initiator to {request.export.iqn} (LUN {request.export.lun}), erase the "
            "disk in Disk Utility and choose it in Time Machine's settings",
            f"restore browsing: `zfstm volume browse TARGET SNAPSHOT` shows a snapshot read-only as LUN "
            f"{request.export.restore_lun}",
        ]
    if request.export.kind is ExportKind.LIO and not request.initiators and not target_exists:
        advice.append("no --initiator given: any initiator that reaches the portal may log in; name the Mac's IQN")
    if request.export.kind is ExportKind.LIO:
        advice.append("targetcli needs the system D-Bus; enable rtslib-fb-targetctl.service to restore it at boot")
    if request.export.kind is ExportKind.COMSTAR:
        advice.append("COMSTAR commands are written from the illumos manuals and unverified by zfstm's tests")
    if exists:
        advice.append(f"{request.dataset} exists: it is exported as it is (its properties are left alone)")
    commands = export_commands(request, target_exists=target_exists)
    return VolumePlan(request, exists, props, commands, tuple(advice), export_files(request))


def target_snippet(plan: VolumePlan, name: str) -> str:
    export = plan.request.export
    if export.kind is ExportKind.NBD:
        return (
            f'[[targets]]\nname = "{name}"\ndataset = "{plan.request.dataset}"\n\n[targets.volume]\n'
            f'export = "nbd"\nexport_name = "{export.export_name}"\nconfig_dir = "{export.config_dir}"\n'
            f'pidfile = "{export.pidfile}"\n'
        )
    return (
        f'[[targets]]\nname = "{name}"\ndataset = "{plan.request.dataset}"\n\n[targets.volume]\n'
        f'export = "{export.kind.value}"\niqn = "{export.iqn}"\nlun = {export.lun}\n'
        f"restore_lun = {export.restore_lun}\n"
    )


def plan_text(plan: VolumePlan, target: str) -> str:
    request = plan.request
    size = f"{request.size_bytes // (1024 * 1024)} MiB"
    out = [
        f"volume {request.dataset}: "
        + ("exists, exported as it is" if plan.exists else f"create, {size}, " + _props_text(plan.properties)),
        f"export: {request.export.kind.value} "
        + (
            f"{request.export.export_name}"
            if request.export.kind is ExportKind.NBD
            else f"{request.export.iqn} LUN {request.export.lun}"
        ),
    ]
    out += ["  " + " ".join(argv) for argv in plan.commands]
    for path, text in plan.files:
        out += [f"  write {path}:", *(f"    {line}" for line in text.splitlines())]
    out += [f"note: {line}" for line in plan.advice]
    out += ["", "zfstm.toml:", target_snippet(plan, target)]
    return "\n".join(out)


def plan_json(plan: VolumePlan) -> dict[str, object]:
    export = plan.request.export
    return {
        "volume": plan.request.dataset.full,
        "exists": plan.exists,
        "size": plan.request.size_bytes,
        "properties": dict(plan.properties),
        "export": {"kind": export.kind.value, "iqn": export.iqn, "lun": export.lun}
        if export.kind is not ExportKind.NBD
        else {"kind": export.kind.value, "export_name": export.export_name, "config_dir": export.config_dir},
        "commands": [list(argv) for argv in plan.commands],
        "files": [{"path": path, "text": text} for path, text in plan.files],
        "advice": list(plan.advice),
    }


def _props_text(props: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{key}={value}" for key, value in props)
