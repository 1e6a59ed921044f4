"""A volume target's export as a frozen value: which iSCSI target (IQN) and LUN the Mac sees, or which NBD export
name a client asks nbd-server for, served by what.

The IQN and LUN (and the NBD export name) are configuration, not discovered: a rollback must bring the export back
under exactly the names the Mac's initiator remembers, and a restore LUN must never take the live one's number.
"""

from __future__ import annotations

import re
from enum import StrEnum

import attrs

from zfstm.zfs.names import DatasetName, SnapshotName

#: RFC 3720 section 3.2.6.3.1: ``iqn.YYYY-MM.reversed.domain[:anything]``, lowercase; kept to characters that are
#: safe in a targetcli path and an itadm argument.
_IQN = re.compile(r"iqn\.[0-9]{4}-[0-9]{2}\.[a-z0-9][a-z0-9.-]*(:[a-z0-9][a-z0-9.:_-]*)?")
_BACKSTORE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: An NBD export name zfstm writes as an nbd-server section header and a file name: no ``]``, ``/`` or spaces.
_NBD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: The highest LUN zfstm hands out; SAM allows more, but Macs' initiators (and people) stay far below.
MAX_LUN = 255


class ExportKind(StrEnum):
    """What serves the zvol: LIO through targetcli (Linux), COMSTAR through stmfadm/itadm (illumos), or nbd-server
    (Linux; an NBD client, not a Mac's initiator: see docs/volumes.md)."""

    LIO = "lio"
    COMSTAR = "comstar"
    NBD = "nbd"


def check_iqn(text: str) -> str:
    """``text`` if it is an IQN zfstm accepts, else ValueError saying the form."""
    if not _IQN.fullmatch(text) or len(text) > 223:  # RFC 3720: at most 223 bytes
        raise ValueError(
            f"{text!r} is not an iSCSI name zfstm accepts: use iqn.YYYY-MM.reversed.domain:name, lowercase"
        )
    return text


def check_backstore(text: str) -> str:
    if not _BACKSTORE.fullmatch(text):
        raise ValueError(
            f"{text!r}: a backstore name is 1-64 letters, digits, '_' or '-', starting with one of the first two"
        )
    return text


def check_lun(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LUN:
        raise ValueError(f"a LUN is an integer from 0 to {MAX_LUN}, got {value!r}")
    return value


def check_nbd_name(text: str) -> str:
    if not _NBD_NAME.fullmatch(text):
        raise ValueError(
            f"{text!r}: an NBD export name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return text


def check_absolute(text: str) -> str:
    if not text.startswith("/") or "\n" in text or "\0" in text:
        raise ValueError(f"{text!r} is not an absolute path")
    return text


def default_nbd_name(name: str) -> str:
    """The target's name as the NBD export name, with anything nbd-server could misread as ``_``."""
    return check_nbd_name(re.sub(r"[^A-Za-z0-9._-]", "_", name)[:64].lstrip("._-") or "volume")


def default_iqn(name: str) -> str:
    """``iqn.2026-12.org.zfstm:<name>``: a stable default for a target called ``name``."""
    return check_iqn(f"iqn.2026-12.org.zfstm:{name.lower().replace('_', '-')}")


def backstore_name(dataset: DatasetName) -> str:
    """The LIO backstore's name for a zvol: its dataset with ``/`` and ``.`` as ``_`` (stable across a swap)."""
    return check_backstore(re.sub(r"[^A-Za-z0-9_-]", "_", dataset.full)[:64])


@attrs.frozen
class VolumeExport:
    """How a volume target is exported. ``restore_lun`` is where a snapshot is shown read-only for browsing.

    NBD only: ``export_name`` is the section nbd-server serves it under, ``config_dir`` the directory nbd-server's
    ``includedir`` names (zfstm writes the section and its authfile there), ``pidfile`` where nbd-server writes its
    process id (zfstm sends it SIGHUP to add a new export). The iSCSI fields are unused by NBD, and the NBD ones by
    iSCSI.
    """

    kind: ExportKind = ExportKind.LIO
    iqn: str = attrs.field(default="iqn.2026-12.org.zfstm:volume", validator=lambda _i, _a, v: check_iqn(v))
    lun: int = attrs.field(default=0, validator=lambda _i, _a, v: check_lun(v))
    restore_lun: int = attrs.field(default=1, validator=lambda _i, _a, v: check_lun(v))
    portal: str = "0.0.0.0:3260"
    export_name: str = attrs.field(default="volume", validator=lambda _i, _a, v: check_nbd_name(v))
    config_dir: str = attrs.field(default="/etc/nbd-server/conf.d", validator=lambda _i, _a, v: check_absolute(v))
    pidfile: str = attrs.field(default="/var/run/nbd-server.pid", validator=lambda _i, _a, v: check_absolute(v))

    @property
    def title(self) -> str:
        """How plans, logs and errors name the export (what stops and comes back around a rollback)."""
        if self.kind is ExportKind.NBD:
            return f"NBD export {self.export_name}"
        return f"iSCSI export {self.iqn} LUN {self.lun}"

    def __attrs_post_init__(self) -> None:
        if self.lun == self.restore_lun:
            raise ValueError(f"restore_lun must differ from lun ({self.lun}): the live volume keeps its number")


def device_path(dataset: DatasetName, platform: str) -> str:
    """The zvol's block device: ``/dev/zvol/<dataset>`` (Linux udev), ``/dev/zvol/rdsk/<dataset>`` (illumos)."""
    if platform.startswith("sunos") or platform == "illumos":
        return f"/dev/zvol/rdsk/{dataset.full}"
    return f"/dev/zvol/{dataset.full}"


def browse_dataset(snapshot: SnapshotName) -> DatasetName:
    """The read-only clone that shows ``snapshot`` as the restore LUN: ``<dataset>.browse-<snapshot>``."""
    return DatasetName(f"{snapshot.dataset.full}.browse-{snapshot.short}")
