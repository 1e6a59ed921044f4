"""A one-line progress display for long testbed work: phase, elapsed time, and the latest log line."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Redraws one line on a terminal; prints one line per phase otherwise (logs, CI)."""

    def __init__(self, total_phases: int, stream: TextIO = sys.stderr) -> None:
        self.total = total_phases
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.phase_no = 0
        self.phase = ""
        self._last_draw = 0.0

    def start_phase(self, name: str) -> None:
        self.phase_no += 1
        self.phase = name
        if self.tty:
            self._draw("")
        else:
            self.stream.write(f"[{self.phase_no}/{self.total}] {self._elapsed()} {name}\n")
            self.stream.flush()

    def detail(self, line: str) -> None:
        """Show the latest log line, at most a few times a second."""
        now = time.monotonic()
        if self.tty and now - self._last_draw > 0.2:
            self._draw(line)

    def done(self, message: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
        self.stream.write(f"{message} ({self._elapsed()})\n")
        self.stream.flush()

    def _elapsed(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 60:d}:{seconds % 60:02d}"

    def _draw(self, detail: str) -> None:
        self._last_draw = time.monotonic()
        head = f"[{self.phase_no}/{self.total}] {self._elapsed()} {self.phase}"
        room = 118 - len(head)
        tail = f" · {detail.strip()[:room]}" if detail.strip() and room > 10 else ""
        self.stream.write(f"\r\x1b[K{head}{tail}")
        self.stream.flush()
