"""The daemon's side of events: the sockets it sleeps on, what arrived, and which targets to look at when.

A thin shell around the pure parts (zfstm.events.fce, .route, .schedule): it reads what the sockets hold when
the daemon's select says so, keeps the last session end per target in memory for the ticks, and writes the last
event per target once per wakeup for `zfstm status`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from zfstm.config.model import Config, FileServerKind, Target
from zfstm.events.fce import FceError, parse_fce
from zfstm.events.listener import FceSocket
from zfstm.events.model import EventsConfig, SessionEvent
from zfstm.events.notice import MAGIC as NOTICE_MAGIC
from zfstm.events.notice import NoticeError, parse_notice
from zfstm.events.record import remember_event, remember_listening
from zfstm.events.route import Sessions, route_fce, route_notice
from zfstm.events.schedule import Schedule, after_look, due_targets, next_due, note_session_end
from zfstm.lifecycle.outcome import TickReport
from zfstm.timemachine.detector import ActivityState

log = logging.getLogger("zfstm.events")

Clock = Callable[[], float]
WallClock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EventHub:
    """Owns the event sockets. ``shares`` maps each netatalk target to its share path (``route_fce``),
    ``hook_shares`` each Samba target (``route_notice``: `zfstm notify` from smb.conf's ``root postexec``)."""

    def __init__(
        self,
        config: Config,
        shares: Sequence[tuple[str, str]],
        state_dir: Path | None,
        hook_shares: Sequence[tuple[str, str]] = (),
        *,
        clock: Clock = time.monotonic,
        wall: WallClock = _utc_now,
    ) -> None:
        self.settings: EventsConfig = config.events
        self.targets = {target.name: target for target in config.targets}
        self.shares = tuple(shares)
        self.hook_shares = tuple(hook_shares)
        self.state_dir = state_dir
        self.clock, self.wall = clock, wall
        self.schedule = Schedule()
        self.sessions = Sessions()
        self.session_ends: dict[str, datetime] = {}
        #: The monotonic time each target's last session end was heard (for the latency in the log).
        self.heard: dict[str, float] = {}
        self.fce: FceSocket | None = None
        if self.settings.fce_listener is not None and (self.shares or self.hook_shares):
            host, port = self.settings.fce_listener
            self.fce = FceSocket(host, port)  # OSError (port taken) is the caller's to report
        if state_dir is not None and self.fce is not None:
            remember_listening(state_dir, wall(), [self.fce.address])

    @property
    def listening(self) -> list[str]:
        if self.fce is None:
            return []
        kinds = [name for name, shares in (("netatalk FCE", self.shares), ("zfstm notify", self.hook_shares)) if shares]
        return [f"{' and '.join(kinds)} on {self.fce.address}"]

    def fds(self) -> list[int]:
        return [self.fce.fileno()] if self.fce else []

    def receive(self, ready: Sequence[int]) -> None:
        """Read what the ready sockets hold; note session ends; record the last event per target."""
        if self.fce is None or self.fce.fileno() not in ready:
            return
        now, at = self.clock(), self.wall()
        last: dict[str, SessionEvent] = {}
        for data in self.fce.drain():
            for event in self._events(data, at):
                last[event.target] = event
                if event.session_end:
                    log.info("%s: %s (%s)", event.target, event.detail, event.source.value)
                    self.session_ends[event.target] = at
                    self.heard[event.target] = now
                    self.schedule = note_session_end(self.schedule, event.target, now, self.settings)
        if self.state_dir is not None:
            for event in last.values():
                remember_event(self.state_dir, event, self.session_ends.get(event.target))

    def _events(self, data: bytes, at: datetime) -> tuple[SessionEvent, ...]:
        """What one datagram means: an FCE packet from afpd, or a notice from `zfstm notify`; else nothing."""
        try:
            if data.startswith(NOTICE_MAGIC):
                return route_notice(parse_notice(data), self.hook_shares, at)
            events, self.sessions = route_fce(parse_fce(data), self.shares, self.sessions, at)
        except (FceError, NoticeError) as exc:
            log.debug("datagram ignored: %s", exc)
            return ()
        return events

    def due(self) -> list[Target]:
        """The targets whose event-triggered look is due now."""
        return [self.targets[name] for name in due_targets(self.schedule, self.clock()) if name in self.targets]

    def next_due(self) -> float | None:
        """The monotonic time of the next event-triggered look, if any."""
        return next_due(self.schedule)

    def ends(self) -> Mapping[str, datetime]:
        return dict(self.session_ends)

    def looked(self, targets: Sequence[Target], report: TickReport | None) -> None:
        """After a look at ``targets``: done, or retried while the backup still looks active (or the look failed)."""
        now = self.clock()
        for target in targets:
            took = report is not None and any(name.startswith(target.dataset.full + "@") for name in report.snapshots)
            active = (
                report is None or target.name in report.busy or any(f.target == target.name for f in report.failures)
            )
            if report is not None:
                for decision in report.plan.decisions:
                    if decision.target == target.name and decision.activity.state is ActivityState.IN_PROGRESS:
                        active = True
            self.schedule = after_look(
                self.schedule, target.name, now, took=took, still_active=active, settings=self.settings
            )
            since = now - self.heard.get(target.name, now)
            if took:
                log.info("%s: snapshot taken on the session end (%.2f s after it was heard)", target.name, since)
            elif target.name in self.schedule.pending:
                log.info(
                    "%s: the backup still looks active %.2f s after the session end; looking again", target.name, since
                )

    def close(self) -> None:
        if self.fce is not None:
            self.fce.close()
            self.fce = None


def shares_of(config: Config, share_path: Callable[[Target], str], kind: FileServerKind) -> list[tuple[str, str]]:
    """(target, share path) for every target served by ``kind`` whose path is known."""
    out = []
    for target in config.targets:
        if target.file_server.kind is kind:
            path = share_path(target)
            if path:
                out.append((target.name, path))
    return out
