"""SMF (illumos, SmartOS) control of a file server: ``svcadm disable -s`` / ``enable -s`` and ``svcs -H -o state``.

``-s`` makes svcadm wait until the instance reached the state, and return non-zero early when it cannot (for
example when the instance dropped to maintenance). The disable is persistent on purpose (no ``-t``): if the host
reboots in the middle of a rollback, Netatalk must not come back by itself and let cnid_dbd "repair" a database
that does not match the rolled-back share; zfstm (or the administrator) enables it when the share is consistent.
"""

from __future__ import annotations

import attrs

from zfstm.command import Completed, Runner
from zfstm.errors import FileServerError, UsageError

#: States in which processes of the instance may exist (``legacy_run`` is an rc script that ran).
RUNNING_STATES = frozenset({"online", "degraded", "legacy_run"})
KNOWN_STATES = RUNNING_STATES | {"offline", "disabled", "maintenance", "uninitialized"}


def check_fmri(fmri: str) -> str:
    """Refuse an empty FMRI or one that svcadm would read as an option."""
    if not fmri or fmri.startswith("-") or any(c.isspace() for c in fmri):
        raise UsageError(f"{fmri!r} is not an SMF service FMRI (e.g. svc:/network/netatalk:default)")
    return fmri


def disable_argv(fmri: str) -> tuple[str, ...]:
    return ("svcadm", "disable", "-s", check_fmri(fmri))


def enable_argv(fmri: str) -> tuple[str, ...]:
    return ("svcadm", "enable", "-s", check_fmri(fmri))


def state_argv(fmri: str) -> tuple[str, ...]:
    return ("svcs", "-H", "-o", "state", check_fmri(fmri))


def explain_argv(fmri: str) -> tuple[str, ...]:
    """What to run (by hand) to see why an instance is not online."""
    return ("svcs", "-xv", check_fmri(fmri))


@attrs.frozen
class SmfState:
    """An instance's state; ``transitioning`` is svcs's trailing ``*`` (a state change is under way)."""

    state: str
    transitioning: bool

    @property
    def may_be_running(self) -> bool:
        return self.transitioning or self.state in RUNNING_STATES


def parse_svcs_state(fmri: str, stdout: str) -> SmfState:
    """The one state ``svcs -H -o state FMRI`` printed; refuses output for zero or several instances."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if len(lines) != 1:
        raise FileServerError(
            f"svcs printed {len(lines)} states for {fmri}; name exactly one instance, e.g. {fmri.rstrip(':')}:default"
        )
    text = lines[0]
    transitioning = text.endswith("*")
    state = text.rstrip("*")
    if state not in KNOWN_STATES:
        raise FileServerError(f"svcs says {fmri} is in state {text!r}, which zfstm does not know; not guessing")
    return SmfState(state=state, transitioning=transitioning)


@attrs.frozen
class SmfControl:
    """Control one SMF instance through svcadm and svcs."""

    fmri: str = attrs.field(validator=lambda _i, _a, value: check_fmri(value))
    runner: Runner
    timeout: float = 120.0

    @property
    def name(self) -> str:
        return self.fmri

    def stop(self) -> None:
        self._change(disable_argv(self.fmri), "stop (disable)")

    def start(self) -> None:
        self._change(enable_argv(self.fmri), "start (enable)")

    def is_running(self) -> bool:
        return self.state().may_be_running

    def state(self) -> SmfState:
        done = self.runner(state_argv(self.fmri), timeout=self.timeout)
        if done.returncode != 0:
            raise FileServerError(f"cannot read the state of {self.fmri}: {done.why()}")
        return parse_svcs_state(self.fmri, done.stdout)

    def _change(self, argv: tuple[str, ...], what: str) -> None:
        done: Completed = self.runner(argv, timeout=self.timeout)
        if done.returncode != 0:
            raise FileServerError(
                f"could not {what} {self.fmri}: `{done.command}` said: {done.why()}; "
                f"see `{' '.join(explain_argv(self.fmri))}`"
            )
