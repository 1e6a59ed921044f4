"""The daemon's side of events: the sockets it sleeps on, what arrived, and which targets to look at when.

A thin shell around the pure parts (zfstm.events.fce, .route, .schedule): it reads what the sockets hold when
the daemon's select says so, keeps the last session end per target in memory for the ticks, and writes the last
event per target once per wakeup for `zfstm status`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from zfstm.config.model import Config, FileServerKind, Target
from zfstm.events.fce import FceError, parse_fce
from zfstm.events.inotify import InotifyError, meaning, parse_records
from zfstm.events.listener import FceSocket
from zfstm.events.model import EventKind, EventsConfig, EventSource, SessionEvent
from zfstm.events.notice import MAGIC as NOTICE_MAGIC
from zfstm.events.notice import NoticeError, parse_notice
from zfstm.events.record import remember_event, remember_listening
from zfstm.events.route import Sessions, route_fce, route_notice
from zfstm.events.schedule import (
    Schedule,
    after_count,
    after_look,
    due_targets,
    next_due,
    note_history,
    note_session_end,
    watches_due,
)
from zfstm.events.watch import HistoryWatch, history_watch
from zfstm.lifecycle.observe import SessionCounter, count_sessions
from zfstm.lifecycle.outcome import TickReport
from zfstm.timemachine.detector import ActivityState

log = logging.getLogger("zfstm.events")

Clock = Callable[[], float]
WallClock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EventHub:
    """Owns the event sockets. ``shares`` maps each netatalk target to its share path (``route_fce``),
    ``hook_shares`` each Samba target (``route_notice``: `zfstm notify` from smb.conf's ``root postexec``).
    ``watch`` makes the file-event watch on all their shares (None on systems without inotify); ``sessions``
    counts a target's open sessions after a new history (zfstm.events.schedule)."""

    def __init__(
        self,
        config: Config,
        shares: Sequence[tuple[str, str]],
        state_dir: Path | None,
        hook_shares: Sequence[tuple[str, str]] = (),
        *,
        clock: Clock = time.monotonic,
        wall: WallClock = _utc_now,
        watch: Callable[[Sequence[tuple[str, str]]], HistoryWatch | None] = history_watch,
        sessions: SessionCounter = count_sessions,
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
        self.counter = sessions
        self.paths = dict((*self.shares, *self.hook_shares))
        self.files: HistoryWatch | None = None
        if self.fce is not None:
            try:
                self.files = watch((*self.shares, *self.hook_shares))
            except OSError as exc:  # events from the servers still work
                log.warning("cannot watch SnapshotHistory.plist (%s); session events still work", exc)
        if state_dir is not None and self.fce is not None:
            remember_listening(state_dir, wall(), [self.fce.address])

    @property
    def listening(self) -> list[str]:
        if self.fce is None:
            return []
        kinds = [name for name, shares in (("netatalk FCE", self.shares), ("zfstm notify", self.hook_shares)) if shares]
        out = [f"{' and '.join(kinds)} on {self.fce.address}"]
        if self.files is not None:
            out.append(f"SnapshotHistory.plist (inotify, {len(self.files.watched)} directories)")
        return out

    def fds(self) -> list[int]:
        return [f.fileno() for f in (self.fce, self.files) if f is not None]

    def receive(self, ready: Sequence[int]) -> None:
        """Read what the ready descriptors hold; note session ends and new histories; record the last event per
        target."""
        now, at = self.clock(), self.wall()
        events: list[SessionEvent] = []
        # File events first: a session's writes come before its end, whichever descriptor is read first.
        if self.files is not None and self.files.fileno() in ready:
            events.extend(self._file_events(at))
        if self.fce is not None and self.fce.fileno() in ready:
            events.extend(event for data in self.fce.drain() for event in self._events(data, at))
        last: dict[str, SessionEvent] = {}
        for event in events:
            last[event.target] = event
            if event.session_end:
                log.info("%s: %s (%s)", event.target, event.detail, event.source.value)
                self._ended(event.target, now, at)
            elif event.kind is EventKind.HISTORY:
                log.info("%s: %s (%s); watching for the session end", event.target, event.detail, event.source.value)
                self.schedule = note_history(self.schedule, event.target, now, self.settings)
        self._remember(last.values())

    def _ended(self, target: str, now: float, at: datetime) -> None:
        self.session_ends[target] = at
        self.heard[target] = now
        self.schedule = note_session_end(self.schedule, target, now, self.settings)

    def _remember(self, events: Iterable[SessionEvent]) -> None:
        if self.state_dir is not None:
            for event in events:
                remember_event(self.state_dir, event, self.session_ends.get(event.target))

    def _file_events(self, at: datetime) -> list[SessionEvent]:
        """The history events the inotify descriptor holds; new bundles get their watch."""
        assert self.files is not None
        out: list[SessionEvent] = []
        for data in self.files.drain():
            try:
                found = meaning(parse_records(data), self.files.watched, at)
            except InotifyError as exc:
                log.debug("inotify read ignored: %s", exc)
                continue
            if found.overflow:
                log.warning("inotify queue overflowed: file events were lost; the quiet period covers them")
            self.files.forget(found.gone)
            for bundle in found.new_bundles:
                self.files.add(bundle)
            out.extend(found.events)
        return out

    def _count(self) -> None:
        """Count the sessions of the targets whose watch is due; a session end seen that way is noted."""
        now = self.clock()
        for name in watches_due(self.schedule, now):
            target = self.targets.get(name)
            count = self.counter(target, self.paths.get(name, "")) if target is not None else None
            self.schedule, ended = after_count(self.schedule, name, count, self.clock(), self.settings)
            if ended:
                at = self.wall()
                event = SessionEvent(name, EventSource.INOTIFY, EventKind.LOGOUT, at, "no session open any more")
                log.info("%s: the last session let go of the share after its new history (inotify)", name)
                self._ended(name, self.clock(), at)
                self._remember([event])

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
        """The targets whose event-triggered look is due now (after the session counts that are due)."""
        self._count()
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
        if self.files is not None:
            self.files.close()
            self.files = None


def shares_of(config: Config, share_path: Callable[[Target], str], kind: FileServerKind) -> list[tuple[str, str]]:
    """(target, share path) for every target served by ``kind`` whose path is known."""
    out = []
    for target in config.targets:
        if target.file_server.kind is kind:
            path = share_path(target)
            if path:
                out.append((target.name, path))
    return out
