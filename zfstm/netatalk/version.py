"""Which netatalk serves the volumes, and the paths it was built with (``afpd -V``).

Why it matters: the CNID database's place depends on the version, not only on afp.conf. netatalk 4 names a
volume without ``volume name`` after its lower-cased section (``[TM]`` -> ``tm``, so ``$v`` in ``vol dbpath``
expands to ``tm``); netatalk 3.1 keeps the case as written (``TM``). The default place is
``<state directory>/CNID/<volume>/``, and the state directory is a build option (Debian: ``/var/lib/netatalk/``,
pkgsrc: ``/var/db/netatalk/``). A wrong guess here made zfstm "raise" the counter of a database that was not
there, so the version is read from the server itself.
"""

from __future__ import annotations

import os
import re
import shutil

import attrs

from zfstm.errors import ZfstmError
from zfstm.runner import run_command

#: Where afpd lives: PATH first, then the Debian and pkgsrc (SmartOS) places.
AFPD_CANDIDATES = ("afpd", "/usr/sbin/afpd", "/opt/local/sbin/afpd", "/opt/tools/sbin/afpd")

_FIRST = re.compile(r"^afpd\s+(\d+(?:\.\d+)*)")


@attrs.frozen
class NetatalkBuild:
    """What ``afpd -V`` says about the installed netatalk."""

    version: tuple[int, ...]
    statedir: str | None = None
    afp_conf: str | None = None

    @property
    def lower_volume_names(self) -> bool:
        """netatalk 4 lower-cases a section name used as the volume name (seen with 4.2.3); 3.x keeps it."""
        return self.version >= (4,)

    @property
    def text(self) -> str:
        return ".".join(map(str, self.version))


def parse_afpd_version(text: str) -> NetatalkBuild | None:
    """The version and paths from ``afpd -V`` output; None when it is not afpd's (pure)."""
    version: tuple[int, ...] | None = None
    paths: dict[str, str] = {}
    for line in text.split("\n"):
        found = _FIRST.match(line.strip())
        if found and version is None:
            version = tuple(int(part) for part in found.group(1).split("."))
            continue
        key, sep, value = line.partition(":")
        if sep and value.strip():
            paths[key.strip().lower()] = value.strip()
    if version is None:
        return None
    return NetatalkBuild(version=version, statedir=paths.get("state directory"), afp_conf=paths.get("afp.conf"))


def probe_netatalk(candidates: tuple[str, ...] = AFPD_CANDIDATES) -> NetatalkBuild | None:
    """Run ``afpd -V`` (read-only, a second at most); None when no afpd is installed or it says nothing usable."""
    for candidate in candidates:
        path = shutil.which(candidate)
        if path is None:
            continue
        try:
            done = run_command([path, "-V"], timeout=20)
        except (OSError, ZfstmError):
            continue
        found = parse_afpd_version(done.stdout + "\n" + done.stderr)
        if found is not None:
            return found
    return None


def derivation(build: NetatalkBuild | None, default_statedir: str) -> tuple[str, bool, str]:
    """(state directory, lower-case volume names?, how that was decided) for parsing afp.conf as this server does.
    Without an afpd to ask, netatalk 4's rules are assumed and the plan says so."""
    if build is None:
        return (
            default_statedir,
            True,
            f"no afpd found: assumed netatalk 4 (lower-cased volume names, {default_statedir})",
        )
    statedir = build.statedir or default_statedir
    case = "lower-cases section names" if build.lower_volume_names else "keeps the case of section names"
    return statedir, build.lower_volume_names, f"netatalk {build.text} {case}, state directory {statedir}"


def resolve_db_dir(db_dir: str) -> str:
    """The database directory as the server reaches it: relative to / (netatalk's working directory), with ``..``
    and symlinks resolved, so that a ``vol dbpath`` that leaves a dataset by ``..`` or a link is not taken as lying
    on it."""
    return os.path.realpath(db_dir if db_dir.startswith("/") else "/" + db_dir)
