"""The shell that runs the export's commands: take the LUN offline and back, show a snapshot as a restore LUN.

:class:`ExportControl` is what a rollback stops and starts in place of a file server (it satisfies
``zfstm.rollback.execute.Server``): ``stop`` refuses while an initiator is logged in (a Mac with the disk mounted
would see it vanish mid-write) unless forced, then deletes the LUN and its backstore, which closes the zvol so it
can be renamed or rolled back; ``start`` creates them again on the same device path with the same IQN and LUN
number. Both look first, so running them twice is harmless (a resumed rollback may do that).

NBD (nbd-server, :mod:`zfstm.volume.nbd`): a session is an nbd-server child process holding the zvol's device open;
``stop`` empties the export's authfile (no new client gets in) and, when forced, ends the connected ones' child
processes; ``start`` restores the allowed list. The section with the export name and device path stays as it is.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from zfstm.atomicfile import write_atomically
from zfstm.command import Completed, Runner
from zfstm.errors import FileServerError, SafetyRefusal, UsageError
from zfstm.runner import run_command
from zfstm.service.holder_scan import Scanner, default_scanner
from zfstm.volume import comstar, lio, nbd
from zfstm.volume.model import ExportKind, VolumeExport, backstore_name, device_path
from zfstm.zfs.names import DatasetName

log = logging.getLogger("zfstm.volume")

#: targetcli takes 4-7 s per process in the emulated testbed; a real server answers in under a second.
TIMEOUT = 120.0
UDEV_SETTLE = ("udevadm", "settle", "--timeout=30")
#: How long a forced stop waits for nbd-server's per-client processes to let go of the zvol after SIGTERM.
NBD_LET_GO = 15.0
NBD_SERVER = "nbd-server"


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
    #: finds the nbd-server processes holding the zvol (NBD only); None: /proc (Linux) or fuser
    scanner: Scanner | None = None
    proc: Path = Path("/proc")

    @property
    def name(self) -> str:
        return self.export.title

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
        if self.export.kind is ExportKind.NBD:
            pids = self.nbd_clients()
            return None if pids is None else tuple(f"pid {pid} ({NBD_SERVER})" for pid in pids)
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
        if self.export.kind is ExportKind.NBD:
            self.nbd_offline()  # closes the door before it looks, so no client slips in between
            return
        self.refuse_sessions(self.sessions())
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
        if self.export.kind is ExportKind.NBD:
            self.nbd_online(device)
            return
        state = lio.read_state(self.export, self.backstore, self.configfs)
        store, lun = lio.create_lun(self.export, self.backstore, device, self.export.lun)
        self.run([store] if self.backstore not in state.backstores else [])
        self.run([lun] if not state.has_lun(self.export.lun) else [])
        self.run([lio.SAVE])

    def is_running(self) -> bool:
        if self.export.kind is ExportKind.COMSTAR:
            return True  # unverified platform: the commands' exit status is all zfstm checks there
        if self.export.kind is ExportKind.NBD:
            return not self.nbd_problems()
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
        self.refuse_nbd_browse()
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
        self.refuse_nbd_browse()
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

    def refuse_sessions(self, logged_in: tuple[str, ...] | None) -> None:
        """SafetyRefusal while an initiator (a client) is logged in or that cannot be told, unless forced."""
        if logged_in and not self.force:
            raise SafetyRefusal(
                f"{self.name} of {self.dataset}: initiator(s) logged in ({', '.join(logged_in)}); eject the disk "
                "on the Mac and log it out, or pass --force to take the LUN away from under it"
            )
        if logged_in is None and not self.force:
            raise SafetyRefusal(
                f"{self.name} of {self.dataset}: cannot tell whether an initiator is logged in; pass --force"
            )

    def refuse_nbd_browse(self) -> None:
        if self.export.kind is ExportKind.NBD:
            raise UsageError(
                f"{self.name}: restore browsing is iSCSI only (nbd-server cannot drop an export it serves without a "
                "restart); clone the snapshot and attach the clone's device locally (docs/volumes.md)"
            )

    # -- NBD ----------------------------------------------------------------------------------------------------

    def nbd_clients(self) -> tuple[int, ...] | None:
        """nbd-server processes holding the zvol's device (one per connected client), or None when not knowable."""
        device = os.path.realpath(device_path(self.dataset, self.platform))
        scan = self.scanner or default_scanner(frozenset({NBD_SERVER}), self.platform)
        holders = scan([Path(device)])
        if any(holder.path == "?" for holder in holders):
            return None
        return tuple(sorted({holder.pid for holder in holders}))

    def nbd_offline(self) -> None:
        """Set the allowed list aside and empty the authfile; when forced, end the connected clients' processes.

        Set aside first, empty second: a stop interrupted between the two is finished by the next one."""
        authfile, aside = nbd.authfile_path(self.export), nbd.set_aside_path(self.export)
        if not aside.exists():
            text = authfile.read_text(encoding="utf-8") if authfile.exists() else nbd.authfile_text(())
            write_atomically(aside, text)
        write_atomically(authfile, nbd.offline_text())
        self.echo(f"{self.name}: authfile {authfile} emptied (allowed list kept in {aside})")
        clients = self.nbd_clients()
        try:
            self.refuse_sessions(None if clients is None else tuple(f"pid {pid} ({NBD_SERVER})" for pid in clients))
        except SafetyRefusal:
            self.nbd_online(device_path(self.dataset, self.platform))  # refused: the door opens again
            raise
        pids = clients or ()
        for pid in pids:  # only with --force
            self.echo(f"{self.name}: ending pid {pid} ({NBD_SERVER}), the connection of a client")
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + NBD_LET_GO
        while pids and time.monotonic() < deadline:
            time.sleep(0.2)
            pids = self.nbd_clients() or ()
        if pids:
            raise FileServerError(
                f"{self.name} of {self.dataset}: {NBD_SERVER} pid(s) {', '.join(map(str, pids))} still hold the "
                "volume after SIGTERM; end them and run `zfstm rollback --resume`"
            )

    def nbd_online(self, device: str) -> None:
        """Restore the allowed list (the section, export name and device path are as provisioned)."""
        problems = self.nbd_section_problems(device)
        if problems:
            raise FileServerError(f"{self.name} of {self.dataset}: {problems[0]}; see docs/volumes.md#nbd")
        authfile, aside = nbd.authfile_path(self.export), nbd.set_aside_path(self.export)
        if aside.exists():
            write_atomically(authfile, aside.read_text(encoding="utf-8"))
            aside.unlink()
            self.echo(f"{self.name}: authfile {authfile} restored")

    def nbd_section_problems(self, device: str) -> list[str]:
        section = nbd.section_path(self.export)
        try:
            options = nbd.read_section(section.read_text(encoding="utf-8"), self.export.export_name)
        except OSError as exc:
            return [f"cannot read its section {section} ({exc.strerror}): provision it again"]
        problems = []
        if options.get("exportname") != device:
            problems.append(f"{section} serves {options.get('exportname')!r}, not {device}")
        if options.get("authfile") != str(nbd.authfile_path(self.export)):
            problems.append(f"{section} names no authfile {nbd.authfile_path(self.export)}: it cannot go offline")
        return problems

    def nbd_problems(self) -> list[str]:
        """Why the export is not served as provisioned (empty: it is)."""
        problems = self.nbd_section_problems(device_path(self.dataset, self.platform))
        if nbd.set_aside_path(self.export).exists():
            problems.append(f"offline: {nbd.authfile_path(self.export)} lets nobody in")
        if self.nbd_server_pid() is None:
            problems.append(f"no {NBD_SERVER} runs (pidfile {self.export.pidfile})")
        return problems

    def nbd_server_pid(self) -> int | None:
        """The running nbd-server's process id from its pidfile, or None."""
        try:
            pid = int(Path(self.export.pidfile).read_text(encoding="utf-8").strip())
            comm = (self.proc / str(pid) / "comm").read_text(encoding="utf-8").strip()
        except (OSError, ValueError):
            return None
        return pid if comm == NBD_SERVER else None

    def nbd_reload(self) -> bool:
        """SIGHUP to nbd-server: it reads its files again and serves the new export. False when none runs."""
        pid = self.nbd_server_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGHUP)
        self.echo(f"sent SIGHUP to {NBD_SERVER} (pid {pid})")
        return True
