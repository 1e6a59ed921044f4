"""Which netatalk this is, from its own words: the version line of ``afpd -V``/``netatalk -V`` or asip-status's
machine type ("Netatalk4.2.3").

Why: 3.x and 4.x differ in ways zfstm must know (4.x serves ``[TM]`` as ``tm`` and puts its database under that
name, 3.x keeps the case; see docs/netatalk.md), and the version line is the one thing both print the same way.
"""

from __future__ import annotations

import re

import attrs

_VERSION = re.compile(r"\b(?:afpd|netatalk)[ \t]*v?(\d+)\.(\d+)(?:\.(\d+))?", re.IGNORECASE)


@attrs.frozen(order=True)
class NetatalkVersion:
    major: int
    minor: int
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def lowercases_volume_names(self) -> bool:
        """netatalk 4 names a volume after its lower-cased section (``[TM]`` is ``tm``); 3 keeps the case."""
        return self.major >= 4


def parse_netatalk_version(text: str) -> NetatalkVersion | None:
    """The first "afpd X.Y.Z" or "netatalk X.Y.Z" (or "NetatalkX.Y.Z") in ``text``; None if there is none."""
    found = _VERSION.search(text)
    if found is None:
        return None
    major, minor, patch = found.groups()
    return NetatalkVersion(int(major), int(minor), int(patch or 0))
