"""`zfstm daemon [--config FILE] [--interval 15m]`: tick on an interval in the foreground, for SMF and systemd.

Logs to stderr (the service manager keeps it: ``svcs -L zfstm``, ``journalctl -u zfstm-daemon``). Follows the
exit-code contract of docs/services.md (``zfstm.service.smf_exit``):

- SIGTERM or SIGHUP (``svcadm disable``, ``systemctl stop``): the running tick finishes (it never stops between a
  hold and its release), then the daemon exits 0;
- a configuration error at start, bad arguments, missing ``zfs allow`` delegation or a missing tool: the reason on
  stderr and exit 96, which puts an SMF instance into maintenance (and stops systemd from restarting it);
- a busy target (another zfstm run holds its lock) or one target failing: logged, tried again next tick.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from types import FrameType
from typing import Protocol

from zfstm.cli.config import (
    add_config_argument,
    backend_for,
    load_from_args,
    now_from,
    run_dir_for,
    state_dir_for,
)
from zfstm.config.model import Config, FileServerKind, Target
from zfstm.errors import ZfstmError
from zfstm.events.hub import EventHub, shares_of
from zfstm.lifecycle.observe import share_path
from zfstm.lifecycle.outcome import TickReport
from zfstm.lifecycle.tick import run_tick
from zfstm.retention.durations import format_duration, parse_duration
from zfstm.service.smf_exit import SMF_EXIT_ERR_CONFIG, SMF_EXIT_OK, daemon_exit_code, under_smf
from zfstm.service.stop_request import StopRequest
from zfstm.snapshots.memory import Memory
from zfstm.zfs import CommandPrefix, ZfsBackend, choose_backend

log = logging.getLogger("zfstm.daemon")

Tick = Callable[[], TickReport]


class Stop(Protocol):
    """What the loop sleeps on (a ``StopRequest``): whether and why a stop was asked for, and the sleep itself."""

    reason: str

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "daemon",
        help="tick on an interval in the foreground (for SMF and systemd)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_argument(parser)
    parser.add_argument("--interval", metavar="DURATION", help="time between ticks (default: the config's, 15m)")
    parser.set_defaults(handler=run)


def summary(report: TickReport) -> str:
    """One log line per tick."""
    parts = [f"{d.target}: {d.due.action.value}" for d in report.plan.decisions]
    if report.snapshots:
        parts.append("took " + ", ".join(report.snapshots))
    destroyed = sum(len(r.destroyed) for r in report.destroyed)
    if destroyed:
        parts.append(f"pruned {destroyed}")
    if report.busy:
        parts.append("busy: " + ", ".join(report.busy))
    parts.extend(f"{f.target} {f.step} failed" for f in report.failures)
    line = "tick: " + ("; ".join(parts) if parts else "no targets")
    if report.stages:
        total = sum(seconds for _, seconds in report.stages)
        line += f" ({total:.2f} s: " + ", ".join(f"{stage} {seconds:.2f}" for stage, seconds in report.stages) + ")"
    return line


class Events(Protocol):
    """What the loop needs from zfstm.events.hub.EventHub: sockets to sleep on and early looks to make."""

    def fds(self) -> list[int]: ...

    def receive(self, ready: Sequence[int]) -> None: ...

    def due(self) -> list[Target]: ...

    def next_due(self) -> float | None: ...

    def looked(self, targets: Sequence[Target], report: TickReport | None) -> None: ...


class EventStop(Stop, Protocol):
    def wait_readable(self, timeout: float | None = None, fds: Sequence[int] = ()) -> list[int]: ...


def _attempt(tick: Tick, interval: timedelta) -> tuple[TickReport | None, int | None]:
    """Run one tick: its report (None if it failed), and the exit status when the failure is fatal."""
    try:
        report = tick()
    except ZfstmError as exc:
        code = daemon_exit_code(exc)
        if code == SMF_EXIT_ERR_CONFIG:
            print(f"zfstm daemon: {exc}", file=sys.stderr)
            return None, code
        log.error("tick failed (trying again in %s): %s", format_duration(interval), exc)  # noqa: TRY400
        return None, None
    except Exception as exc:  # a bug in one tick must not end the daemon: the next may work
        log.error(  # noqa: TRY400 - the traceback is logged at DEBUG (-v -v); one line otherwise
            "tick failed with an internal error %s (trying again in %s): %s",
            type(exc).__name__,
            format_duration(interval),
            exc,
            exc_info=log.isEnabledFor(logging.DEBUG),
        )
        return None, None
    log.info("%s", summary(report))
    fatal = [failure for failure in report.failures if failure.fatal]
    for failure in fatal:
        print(f"zfstm daemon: {failure.target}: {failure.step}: {failure.message}", file=sys.stderr)
    return report, SMF_EXIT_ERR_CONFIG if fatal else None


def loop(tick: Tick, interval: timedelta, stop: Stop) -> int:
    """Tick until ``stop`` is set; the exit status per the contract (0 after a stop, 96 for fatal failures)."""
    while not stop.is_set():
        _, code = _attempt(tick, interval)
        if code is not None:
            return code
        stop.wait(interval.total_seconds())
    log.info("stopped%s", f" on {stop.reason}" if stop.reason else "")
    return SMF_EXIT_OK


def event_loop(
    tick: Callable[[Sequence[Target] | None], TickReport],
    interval: timedelta,
    stop: EventStop,
    events: Events,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """:func:`loop` that also sleeps on the event sockets: the regular tick (all targets, ``tick(None)``) keeps its
    schedule whatever arrives; between two, a target whose session ended gets an early tick of its own."""
    next_regular = clock()
    while not stop.is_set():
        if clock() >= next_regular:
            next_regular = clock() + interval.total_seconds()
            _, code = _attempt(lambda: tick(None), interval)
            if code is not None:
                return code
        early = events.due()
        if early and not stop.is_set():
            report, code = _attempt(functools.partial(tick, early), interval)
            if code is not None:
                return code
            events.looked(early, report)
        wake = next_regular
        pending = events.next_due()
        if pending is not None:
            wake = min(wake, pending)
        ready = stop.wait_readable(max(0.0, wake - clock()), events.fds())
        if ready:
            events.receive(ready)
    log.info("stopped%s", f" on {stop.reason}" if stop.reason else "")
    return SMF_EXIT_OK


def _stop_on_signals(stop: StopRequest) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.request(signal.Signals(signum).name)  # no logging here: see zfstm.service.stop_request

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def run(args: argparse.Namespace) -> int:
    if logging.getLogger().level > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)  # a daemon's log is its only voice
    try:
        config = load_from_args(args)
        interval = parse_duration(args.interval) if args.interval else config.interval
        backend = choose_backend(config.backend.kind.value, CommandPrefix.coerce(config.backend.command_prefix))
    except ZfstmError as exc:
        print(f"zfstm daemon: {exc}", file=sys.stderr)
        if under_smf(os.environ):
            print(
                "zfstm daemon: exiting 96: the SMF instance goes to maintenance; fix, then svcadm clear",
                file=sys.stderr,
            )
        return daemon_exit_code(exc)
    with StopRequest() as stop:
        _stop_on_signals(stop)
        log.info(
            "started: %d target(s) from %s, a tick every %s; ZFS backend: %s (%s)",
            len(config.targets),
            config.source,
            format_duration(interval),
            backend.label,
            backend.reason,
        )
        hub = _event_hub(config, backend_for(config, announce=False))
        if hub is None:
            return loop(lambda: _tick(config), interval, stop)
        try:
            log.info("listening for session ends: %s", ", ".join(hub.listening))
            return event_loop(lambda targets: _tick(config, targets, hub.ends()), interval, stop, hub)
        finally:
            hub.close()


def _event_hub(config: Config, backend: ZfsBackend) -> EventHub | None:
    """The event listener the configuration asks for, or None (no events, or the port cannot be bound: then the
    quiet-period detector works alone, as without events, and the log says why)."""
    if not config.events.enabled:
        return None

    def path(target: Target) -> str:
        return share_path(backend, target)

    netatalk = shares_of(config, path, FileServerKind.NETATALK)
    samba = shares_of(config, path, FileServerKind.SAMBA)
    try:
        hub = EventHub(config, netatalk, state_dir_for(config), hook_shares=samba)
    except OSError as exc:
        log.error("cannot listen for events (%s); snapshots wait for the quiet period instead", exc)  # noqa: TRY400
        return None
    if not hub.listening:
        log.warning("events are configured, but no target's server sends them: [events] is not used")
        hub.close()
        return None
    return hub


def _tick(
    config: Config, targets: Sequence[Target] | None = None, ends: Mapping[str, datetime] | None = None
) -> TickReport:
    return run_tick(
        config,
        list(config.targets if targets is None else targets),
        backend_for(config, announce=False),
        now_from(None),
        run_dir=run_dir_for(config),
        state_dir=state_dir_for(config),
        session_ends=ends,
        memory=Memory.load(state_dir_for(config), config.backend.remember),
    )
