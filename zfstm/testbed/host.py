"""What the testbed needs from the host: its tools, its Debian mirror and a cache directory."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from zfstm.errors import TestbedError

HOST_TOOLS = {
    "qemu-system-x86_64": "qemu-system-x86",
    "debootstrap": "debootstrap",
    "mkfs.ext4": "e2fsprogs",
}


def cache_root() -> Path:
    """Where built images live: outside any checkout, shared by all checkouts of this user."""
    explicit = os.environ.get("ZFSTM_TESTBED_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zfstm" / "testbed"


def missing_tools(names: tuple[str, ...] = tuple(HOST_TOOLS)) -> list[str]:
    """The host tools that are not on PATH, as Debian package names to install."""
    return [HOST_TOOLS[name] for name in names if shutil.which(name) is None]


def require_tools(names: tuple[str, ...], purpose: str) -> None:
    """Refuse with an install hint instead of a traceback when QEMU or debootstrap is missing."""
    packages = missing_tools(names)
    if packages:
        raise TestbedError(
            f"the testbed cannot {purpose}: missing host tools. "
            f"Install them with: apt-get install -y {' '.join(packages)}"
        )


_DEB_LINE = re.compile(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)")


def debian_mirror(etc_apt: Path = Path("/etc/apt")) -> str:
    """The Debian archive this machine's apt already uses (the testbed never names a mirror of its own)."""
    explicit = os.environ.get("ZFSTM_DEBIAN_MIRROR")
    if explicit:
        return explicit
    for uri, suites, keyring in _apt_entries(etc_apt):
        if "security" in uri or any(suite.endswith("-security") for suite in suites):
            continue
        if "debian-archive-keyring" in keyring or uri.rstrip("/").endswith("/debian"):
            return uri
    raise TestbedError(
        f"no Debian mirror found in {etc_apt}/sources.list or {etc_apt}/sources.list.d: "
        "set ZFSTM_DEBIAN_MIRROR to the URI of a Debian archive"
    )


def _apt_entries(etc_apt: Path) -> list[tuple[str, list[str], str]]:
    """(uri, suites, signed-by) of every apt source, deb822 and one-line style."""
    entries: list[tuple[str, list[str], str]] = []
    files = sorted((etc_apt / "sources.list.d").glob("*.sources")) if (etc_apt / "sources.list.d").is_dir() else []
    for path in files:
        for stanza in path.read_text(errors="replace").split("\n\n"):
            fields = _deb822_fields(stanza)
            if "deb" not in fields.get("types", "").split():
                continue
            for uri in fields.get("uris", "").split():
                entries.append((uri, fields.get("suites", "").split(), fields.get("signed-by", "")))
    one_line = [etc_apt / "sources.list"]
    if (etc_apt / "sources.list.d").is_dir():
        one_line += sorted((etc_apt / "sources.list.d").glob("*.list"))
    for path in one_line:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            match = _DEB_LINE.match(line)
            if match:
                entries.append((match.group(1), [match.group(2)], line))
    return entries


def _deb822_fields(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in stanza.splitlines():
        if not line.strip() or line.lstrip().startswith("#") or ":" not in line or line[0].isspace():
            continue
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return fields
