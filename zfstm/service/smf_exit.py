"""The exit-code contract between the service definitions (smf/zfstm.xml, systemd/) and ``zfstm daemon``.

The manifest runs ``zfstm daemon --config %{config/path}`` with ``startd/duration = child``: svc.startd watches the
process itself. When it exits, startd looks only at the exit status (illumos ``startd/wait.c``):

- :data:`SMF_EXIT_ERR_CONFIG` (96) -> the instance goes to **maintenance** at once ("service exited with a
  configuration error"); the message the daemon printed on stderr is in the instance's log
  (``svcs -L svc:/application/zfstm:default``), and ``svcs -xv`` points there.
- any other status, including :data:`SMF_EXIT_ERR_FATAL` (95), -> startd **restarts** it (and moves it to
  maintenance only if it keeps dying quickly). So 95 is *not* how a child-model daemon asks for maintenance.
- When an administrator disables or restarts the instance, startd sends SIGTERM and ignores the exit status
  (``zfstm.cli.main`` turns SIGTERM into status 130; systemd units list 130 in ``SuccessExitStatus``).

The daemon therefore exits 96 for every failure a restart cannot fix (:func:`daemon_exit_code`), keeps running
through transient ones (a busy dataset, a pool being imported, one target failing: log and try next tick), and
treats SIGTERM as a clean stop. The systemd units follow the same table (``RestartPreventExitStatus=96``,
``SuccessExitStatus=130``). docs/services.md states the contract for people.
"""

from __future__ import annotations

from collections.abc import Mapping

from zfstm.errors import (
    EXIT_INTERRUPTED,
    ConfigError,
    EnvironmentMissing,
    UsageError,
    ZfsPermissionDenied,
)

SMF_EXIT_OK = 0
#: smf_include.sh: "fatal error"; for a child-model service startd restarts on it, it does not mean maintenance.
SMF_EXIT_ERR_FATAL = 95
#: smf_include.sh: "configuration error"; a child-model service goes to maintenance on it.
SMF_EXIT_ERR_CONFIG = 96
#: smf_include.sh: "permission error"; only meaningful for start methods of contract/transient services.
SMF_EXIT_ERR_PERM = 100

#: Environment variables svc.startd sets for every method; their presence means "running under SMF".
SMF_ENV = ("SMF_FMRI", "SMF_METHOD", "SMF_RESTARTER")

#: Failures that a restart cannot fix: the daemon must exit 96 so the instance stops in maintenance with a reason.
NOT_FIXED_BY_RESTART: tuple[type[BaseException], ...] = (
    ConfigError,  # bad or missing configuration file (file, line, key in the message)
    UsageError,  # the manifest or unit passes arguments the verb does not accept
    ZfsPermissionDenied,  # `zfs allow` delegation for the service user is missing
    EnvironmentMissing,  # a tool or library is not installed (zfs, asip-status ...)
)


def daemon_exit_code(error: BaseException | None) -> int:
    """The status ``zfstm daemon`` exits with: 0 after a clean stop, 96 if a restart would not help, else the
    error's own code (which makes startd or systemd restart the daemon)."""
    if error is None:
        return SMF_EXIT_OK
    if isinstance(error, NOT_FIXED_BY_RESTART):
        return SMF_EXIT_ERR_CONFIG
    code = getattr(error, "exit_code", 1)
    return code if isinstance(code, int) and code not in (SMF_EXIT_OK, SMF_EXIT_ERR_CONFIG) else 1


def under_smf(environ: Mapping[str, str]) -> bool:
    """True when svc.startd started this process (it sets SMF_FMRI for every method)."""
    return bool(environ.get("SMF_FMRI"))


__all__ = [
    "EXIT_INTERRUPTED",
    "NOT_FIXED_BY_RESTART",
    "SMF_ENV",
    "SMF_EXIT_ERR_CONFIG",
    "SMF_EXIT_ERR_FATAL",
    "SMF_EXIT_ERR_PERM",
    "SMF_EXIT_OK",
    "daemon_exit_code",
    "under_smf",
]
