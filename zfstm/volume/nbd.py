"""nbd-server (the Linux NBD server) as a volume target's export: the section zfstm writes, its authfile, and how
the export goes offline and comes back. Pure: texts and paths; :mod:`zfstm.volume.control` writes and signals.

From the nbd-server(1) and nbd-server(5) manuals (nbd 3.x): the main configuration's ``[generic]`` section may
name an ``includedir`` whose ``*.conf`` files are read as part of it; every other section is one export, its name
the name a client asks for; ``exportname`` is the file or device served; ``authfile`` lists the client addresses
or CIDR networks allowed, one a line, and is read at every connection: a missing file lets everyone in, an empty
one nobody. SIGHUP makes nbd-server read its files again and serve new exports; it never changes or removes one
it serves already. Each client connection is a child process of nbd-server holding the served device open.

So zfstm writes one section per target, ``<config_dir>/zfstm-<export_name>.conf``, with an authfile beside it,
and takes the export offline without restarting nbd-server (which would cut every other export's clients): it
keeps the allowed list aside in ``<authfile>.online`` and empties the authfile, so no new client gets in while
the zvol is swapped or rolled back; bringing it back restores the list. The section, hence the export name and the
device path, never changes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path

from zfstm.volume.model import VolumeExport

#: What a missing authfile means to nbd-server, written out so that it can be set aside and restored.
EVERYONE = ("0.0.0.0/0", "::/0")
ONLINE_SUFFIX = ".online"
#: nbd-server's IANA port; zfstm leaves ``port`` to the main configuration's ``[generic]`` section.
PORT = 10809


def section_path(export: VolumeExport) -> Path:
    return Path(export.config_dir) / f"zfstm-{export.export_name}.conf"


def authfile_path(export: VolumeExport) -> Path:
    """The authfile: not ``*.conf``, so nbd-server's includedir does not read it as configuration."""
    return Path(export.config_dir) / f"zfstm-{export.export_name}.allow"


def set_aside_path(export: VolumeExport) -> Path:
    """Where the allowed list waits while the export is offline."""
    authfile = authfile_path(export)
    return authfile.with_name(authfile.name + ONLINE_SUFFIX)


def check_client(text: str) -> str:
    """An address or CIDR network as nbd-server's authfile takes it; ValueError otherwise."""
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"{text!r}: an NBD client is an IP address or a network such as 192.168.1.0/24") from None
    return text


def authfile_text(clients: Sequence[str]) -> str:
    """The allowed clients, one a line; everyone (IPv4 and IPv6) when none is named."""
    lines = [check_client(client) for client in clients] or list(EVERYONE)
    return "# written by zfstm: clients allowed to connect (emptied while a rollback has the export offline)\n" + (
        "\n".join(lines) + "\n"
    )


def offline_text() -> str:
    """An authfile that lets nobody in (nbd-server reads an empty list as "nobody")."""
    return "# emptied by zfstm: the export is offline for a rollback; the allowed list is in the .online file\n"


def section_text(export: VolumeExport, device: str) -> str:
    """One export: the zvol's device, the authfile, and flush/fua so a client's cache flush reaches the zvol."""
    return (
        f"# written by zfstm for the volume target's NBD export; zfstm rollback keeps it as it is\n"
        f"[{export.export_name}]\n"
        f"exportname = {device}\n"
        f"authfile = {authfile_path(export)}\n"
        "flush = true\n"
        "fua = true\n"
    )


def read_section(text: str, name: str) -> dict[str, str]:
    """The options of section ``[name]`` in nbd-server's format (``key = value`` lines, ``#`` comments)."""
    options: dict[str, str] = {}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        key, sep, value = line.partition("=")
        if sep and current == name:
            options[key.strip()] = value.strip()
    return options


def allowed(text: str) -> tuple[str, ...]:
    """The entries of an authfile's text (comments and blank lines left out)."""
    return tuple(entry for raw in text.splitlines() if (entry := raw.partition("#")[0].strip()))
