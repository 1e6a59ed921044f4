"""Build the verified control for a file server from the few facts a configuration gives (shell wiring).

The configuration names the kind of service manager and the service (an FMRI, a unit, or a pidfile plus argv),
and the directories to watch: each share's mountpoint and its CNID database directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from zfstm.command import Runner
from zfstm.config.model import FileServerKind, Target
from zfstm.errors import UsageError
from zfstm.runner import run_command
from zfstm.service.control import NETATALK_PROCESSES, SAMBA_PROCESSES, FileServerControl
from zfstm.service.holder_scan import default_scanner
from zfstm.service.pidfile import PidfileControl
from zfstm.service.smf import SmfControl
from zfstm.service.systemd import SystemdControl
from zfstm.service.verified import VerifiedFileServer, always_answers, asip_probe

Manager = Literal["smf", "systemd", "pidfile"]


def make_control(
    manager: Manager,
    service: str,
    *,
    argv: Sequence[str] = (),
    program: str = "",
    runner: Runner = run_command,
) -> FileServerControl:
    """An adapter: ``service`` is the FMRI (smf), the unit (systemd) or the pidfile path (pidfile)."""
    if manager == "smf":
        return SmfControl(fmri=service, runner=runner)
    if manager == "systemd":
        return SystemdControl(unit=service, runner=runner)
    if manager == "pidfile":
        if not argv or not program:
            raise UsageError(f"a pidfile-managed file server ({service}) needs the argv that starts it and its program")
        return PidfileControl(argv=list(argv), pidfile=Path(service), program=program)
    raise UsageError(f"unknown service manager {manager!r}: use smf, systemd or pidfile")


def verified_server(
    server: FileServerKind,
    control: FileServerControl,
    watched: Sequence[Path],
    *,
    stop_timeout: float = 60.0,
    start_timeout: float = 60.0,
) -> VerifiedFileServer:
    """Netatalk: watch afpd/cnid_dbd/cnid_metad/netatalk and ask its DSI status; Samba: watch smbd, no probe."""
    if server == FileServerKind.NETATALK:
        names, probe = NETATALK_PROCESSES, asip_probe()
    elif server == FileServerKind.SAMBA:
        names, probe = SAMBA_PROCESSES, always_answers
    else:
        raise UsageError(f"unknown file server {server!r}: use netatalk or samba")
    return VerifiedFileServer(
        control=control,
        watched=list(watched),
        scan=default_scanner(names),
        answers=probe,
        stop_timeout=stop_timeout,
        start_timeout=start_timeout,
    )


def server_for(target: Target, watched: Sequence[Path]) -> VerifiedFileServer | None:
    """The verified control of ``target``'s file server as its configuration names it (None: no file server)."""
    fs = target.file_server
    if fs.kind is FileServerKind.NONE:
        return None
    if fs.adapter is None or fs.service is None:
        raise UsageError(f"target {target.name}: file_server needs adapter and service to be stopped and started")
    control = make_control(fs.adapter.value, fs.service, argv=fs.start, program=fs.program or "")
    return verified_server(fs.kind, control, watched)
