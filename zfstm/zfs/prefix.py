"""How to reach the zfs command: directly, or through a command prefix such as ``ssh backup-host``.

Why quoting depends on the prefix: ssh does not pass its arguments on as a list. It joins them with spaces and the
remote user's shell splits the result again, so a snapshot named ``tank/tm@before update`` would arrive as two
words. Prefixes that join (ssh, ``sh -c 'eval "$*"'``) therefore get every argument ``shlex.quote``-d; prefixes that
exec their arguments as a list (``runuser -u user --``, ``sudo``, ``env``) must get them unquoted, or the quotes
would become part of the names.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence

import attrs


def _words(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class CommandPrefix:
    """Words put before every zfs/zpool command, and whether they re-join the arguments through a shell."""

    argv: tuple[str, ...] = attrs.field(default=(), converter=_words)
    #: True for ssh-like prefixes that hand one joined string to a shell; ignored when argv is empty.
    joins_arguments: bool = True

    @classmethod
    def local(cls) -> CommandPrefix:
        """No prefix: run zfs directly on this machine."""
        return cls(())

    @classmethod
    def ssh(cls, host: str, *options: str) -> CommandPrefix:
        """Run zfs on ``host`` through ssh (``options`` go before the host, e.g. ``-p 2222``)."""
        return cls(("ssh", *options, "--", host), joins_arguments=True)

    @classmethod
    def exec_list(cls, *argv: str) -> CommandPrefix:
        """A prefix that passes arguments on as a list (runuser, sudo, env, pfexec)."""
        return cls(argv, joins_arguments=False)

    @classmethod
    def coerce(cls, value: CommandPrefix | Sequence[str]) -> CommandPrefix:
        """Accept a CommandPrefix or a plain word list (treated as ssh-like: arguments joined by a shell)."""
        if isinstance(value, CommandPrefix):
            return value
        return cls(tuple(value), joins_arguments=True)

    @property
    def is_local(self) -> bool:
        """True when commands run directly on this machine."""
        return not self.argv

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """The argument list to execute for ``argv`` (e.g. ["zfs", "list", ...]) under this prefix."""
        if not self.argv:
            return list(argv)
        if self.joins_arguments:
            return [*self.argv, *(shlex.quote(arg) for arg in argv)]
        return [*self.argv, *argv]
