"""The shell that runs the export's commands: take the LUN offline and back, show a snapshot as a restore LUN.

:class:`ExportControl` is what a rollback stops and starts in place of a file server (it satisfies
``zfstm.rollback.execute.Server``): ``stop`` refuses while an initiator is logged in (a Mac with the disk mounted
would see it vanish mid-write) unless forced, then deletes the LUN and its backstore, which closes the zvol so it
can be renamed or rolled back; ``start`` creates them again on the same device path with the same IQN and LUN
number. Both look first, so running them twice is harmless (a resumed rollback may do that).
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from zfstm.command import Completed, Runner
from zfstm.errors import FileServerError, SafetyRefusal
from zfstm.runner import run_command
from zfstm.volume import comstar, lio
from zfstm.volume.model import ExportKind, VolumeExport, backstore_name, device_path
from zfstm.zfs.names import DatasetName

log = logging.getLogger("zfstm.volume")

#: targetcli takes 4-7 s per process in the emulated testbed; a real server answers in under a second.
TIMEOUT = 120.0
UDEV_SETTLE = ("udevadm", "settle", "--timeout=30")


@attrs.define
class ExportControl:
    """One volume target's export. ``force`` lets ``stop`` go on while initiators are logged in."""

    export: VolumeExport
    dataset: DatasetName
    force: bool = False
    platform: str = sys.platform
    runner: Runner = run_command
    configfs: Path = lio.CONFIGFS
    echo: Callable[[str], None] = log.info

    @property
    def name(self) -> str:
        return f"iSCSI export {self.export.iqn} LUN {self.export.lun}"

    @property
    def backstore(self) -> str:
        return backstore_name(self.dataset)

    def run(self, commands: Sequence[Sequence[str]]) -> None:
        """Run each command in order; the first failure raises FileServerError naming it."""
        for argv in commands:
            done: Completed = self.runner(list(argv), timeout=TIMEOUT)
            if done.returncode != 0:
                raise FileServerError(
                    f"{self.name} of {self.dataset}: `{done.command}` failed ({done.why()}); "
                    "see docs/volumes.md#when-a-command-fails"
                )
            self.echo(f"ran {done.command}")

    def sessions(self) -> tuple[str, ...] | None:
        """Initiators logged in to the target, or None when it cannot be told (COMSTAR's count has no names)."""
        if self.export.kind is ExportKind.LIO:
            return lio.read_state(self.export, self.backstore, self.configfs).sessions
        done = self.runner(list(comstar.list_target(self.export)), timeout=TIMEOUT)
        count = comstar.sessions_from(done.stdout) if done.returncode == 0 else None
        return None if count is None else tuple(f"session {i + 1}" for i in range(count))

    def write_counter(self) -> int | None:
        """The target's write counter for the volume (LIO: megabytes written), or None."""
        if self.export.kind is not ExportKind.LIO:
            return None
        return lio.read_state(self.export, self.backstore, self.configfs).write_mbytes

    def stop(self) -> None:
        """Take the LUN offline (refusing while an initiator is logged in, unless forced)."""
        logged_in = self.sessions()
        if logged_in and not self.force:
            raise SafetyRefusal(
                f"{self.name} of {self.dataset}: initiator(s) logged in ({', '.join(logged_in)}); eject the disk "
                "on the Mac and log it out, or pass --force to take the LUN away from under it"
            )
        if logged_in is None and not self.force:
            raise SafetyRefusal(
                f"{self.name} of {self.dataset}: cannot tell whether an initiator is logged in; pass --force"
            )
        if self.export.kind is ExportKind.COMSTAR:
            self.run(comstar.delete_lun(self.export, self.export.lun))
            return
        state = lio.read_state(self.export, self.backstore, self.configfs)
        lun, store = lio.delete_lun(self.export, self.backstore, self.export.lun)
        self.run([lun] if state.has_lun(self.export.lun) else [])
        self.run([store] if self.backstore in state.backstores else [])

    def start(self) -> None:
        """Bring the LUN back: same IQN, same LUN number, on the zvol now called ``dataset``."""
        self.settle()
        device = device_path(self.dataset, self.platform)
        if self.export.kind is ExportKind.COMSTAR:
            self.run(comstar.create_lun(self.export, device, self.export.lun))
            return
        state = lio.read_state(self.export, self.backstore, self.configfs)
        store, lun = lio.create_lun(self.export, self.backstore, device, self.export.lun)
        self.run([store] if self.backstore not in state.backstores else [])
        self.run([lun] if not state.has_lun(self.export.lun) else [])
        self.run([lio.SAVE])

    def is_running(self) -> bool:
        if self.export.kind is ExportKind.COMSTAR:
            return True  # unverified platform: the commands' exit status is all zfstm checks there
        state = lio.read_state(self.export, self.backstore, self.configfs)
        return state.has_lun(self.export.lun) and self.backstore in state.backstores

    def settle(self) -> None:
        """Wait until udev has made the zvol's /dev/zvol link (after create, clone or rename); Linux only."""
        if self.platform.startswith("linux"):
            try:
                subprocess.run(UDEV_SETTLE, check=False, capture_output=True, timeout=60)
            except (OSError, subprocess.TimeoutExpired) as exc:
                log.debug("udevadm settle: %s", exc)

    def show(self, clone: DatasetName) -> None:
        """Export the read-only clone ``clone`` as the restore LUN."""
        self.settle()
        device = device_path(clone, self.platform)
        if self.export.kind is ExportKind.COMSTAR:
            self.run(comstar.create_lun(self.export, device, self.export.restore_lun, readonly=True))
            return
        state = lio.read_state(self.export, backstore_name(clone), self.configfs)
        if state.store_of(self.export.restore_lun) == backstore_name(clone):
            return  # shown already (a repeated browse)
        if state.has_lun(self.export.restore_lun):
            raise SafetyRefusal(
                f"{self.export.iqn} already has LUN {self.export.restore_lun}: remove the snapshot shown there first "
                "(`zfstm volume unbrowse`)"
            )
        self.run(lio.create_lun(self.export, backstore_name(clone), device, self.export.restore_lun, readonly=True))
        self.run([lio.SAVE])

    def hide(self, clone: DatasetName) -> None:
        """Remove the restore LUN and its backstore (looking first: harmless when already gone)."""
        if self.export.kind is ExportKind.COMSTAR:
            self.run(comstar.delete_lun(self.export, self.export.restore_lun))
            return
        store = backstore_name(clone)
        state = lio.read_state(self.export, store, self.configfs)
        shown = state.store_of(self.export.restore_lun)
        if shown not in (None, store):
            raise SafetyRefusal(
                f"LUN {self.export.restore_lun} of {self.export.iqn} shows {shown}, not {store}; nothing was removed"
            )
        lun, backstore = lio.delete_lun(self.export, store, self.export.restore_lun)
        self.run([lun] if state.has_lun(self.export.restore_lun) else [])
        self.run([backstore] if store in state.backstores else [])
        self.run([lio.SAVE])
