"""The one interface every file-server control adapter offers.

A rollback needs exactly four things from whatever serves the share: its name for messages, a stop that returns
once the service manager says it is down, a start that returns once it says it is up, and a yes/no "may it be
running?". Stronger promises (nothing holds the share any more, the server answers) are added on top by
:class:`zfstm.service.verified.VerifiedFileServer`, identically for every adapter.
"""

from __future__ import annotations

from typing import Protocol

#: Processes of a Netatalk server: the master, the per-session AFP servers and the CNID daemons.
NETATALK_PROCESSES = frozenset({"netatalk", "afpd", "cnid_metad", "cnid_dbd"})
#: Processes of a Samba server that can hold files of a share.
SAMBA_PROCESSES = frozenset({"smbd", "samba-dcerpcd", "rpcd_fsrvp"})


class FileServerControl(Protocol):
    """Stop and start the file server in front of a share; raise FileServerError when that fails."""

    @property
    def name(self) -> str:
        """Human name for messages, e.g. ``svc:/network/netatalk:default`` or ``netatalk.service``."""
        ...

    def stop(self) -> None:
        """Stop the server and return once its manager reports it stopped (already stopped is fine)."""
        ...

    def start(self) -> None:
        """Start the server and return once its manager reports it running (already running is fine)."""
        ...

    def is_running(self) -> bool:
        """True if the server is up or in transition (its processes may exist); False only when it is down."""
        ...
