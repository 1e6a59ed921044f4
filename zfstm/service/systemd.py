"""systemd control of a file server: ``systemctl stop`` / ``start`` (both wait for the job) and ``is-active``."""

from __future__ import annotations

import attrs

from zfstm.command import Runner
from zfstm.errors import FileServerError, UsageError

#: ``is-active`` states in which processes of the unit may exist.
RUNNING_STATES = frozenset({"active", "activating", "deactivating", "reloading", "refreshing"})
KNOWN_STATES = RUNNING_STATES | {"inactive", "failed", "maintenance"}


def check_unit(unit: str) -> str:
    """A unit name with its suffix (``netatalk`` -> ``netatalk.service``); refuses option-like names."""
    if not unit or unit.startswith("-") or any(c.isspace() for c in unit):
        raise UsageError(f"{unit!r} is not a systemd unit name (e.g. netatalk.service)")
    return unit if "." in unit else f"{unit}.service"


def stop_argv(unit: str) -> tuple[str, ...]:
    return ("systemctl", "stop", check_unit(unit))


def start_argv(unit: str) -> tuple[str, ...]:
    return ("systemctl", "start", check_unit(unit))


def is_active_argv(unit: str) -> tuple[str, ...]:
    return ("systemctl", "is-active", check_unit(unit))


def explain_argv(unit: str) -> tuple[str, ...]:
    return ("systemctl", "status", check_unit(unit))


def parse_is_active(unit: str, stdout: str) -> str:
    """The state ``systemctl is-active UNIT`` printed (its exit status is 0 only for ``active``)."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if len(lines) != 1:
        raise FileServerError(f"systemctl is-active printed {len(lines)} lines for {unit}; expected one state")
    state = lines[0]
    if state == "unknown":
        return "inactive"  # a unit systemd has not loaded has no processes
    if state not in KNOWN_STATES:
        raise FileServerError(f"systemd says {unit} is {state!r}, which zfstm does not know; not guessing")
    return state


@attrs.frozen
class SystemdControl:
    """Control one systemd unit through systemctl."""

    unit: str = attrs.field(converter=check_unit)
    runner: Runner
    timeout: float = 120.0

    @property
    def name(self) -> str:
        return self.unit

    def stop(self) -> None:
        self._change(stop_argv(self.unit), "stop")

    def start(self) -> None:
        self._change(start_argv(self.unit), "start")

    def is_running(self) -> bool:
        return self.state() in RUNNING_STATES

    def state(self) -> str:
        done = self.runner(is_active_argv(self.unit), timeout=self.timeout)
        if not done.stdout.strip():
            raise FileServerError(f"cannot read the state of {self.unit}: {done.why()}")
        return parse_is_active(self.unit, done.stdout)

    def _change(self, argv: tuple[str, ...], what: str) -> None:
        done = self.runner(argv, timeout=self.timeout)
        if done.returncode != 0:
            raise FileServerError(
                f"could not {what} {self.unit}: `{done.command}` said: {done.why()}; "
                f"see `{' '.join(explain_argv(self.unit))}` and `journalctl -u {self.unit}`"
            )
