"""Does the AFP server answer? It is asked for its server status over DSI, and the answer is judged here.

Pure. The probe asks natively (:mod:`.dsi_status`) and is judged by :func:`judge_server_status`. The ``asip-status``
(netatalk-tools) helpers stay for whoever still runs that script: Debian's netatalk 4.2.3 prints ``Key: value`` lines
such as ``Machine type: Netatalk4.2.3``; a server that is down makes asip-status fail or print no machine type.
"""

from __future__ import annotations

import attrs

from zfstm.service.command import Completed
from zfstm.service.dsi_status import ServerStatus


def asip_status_argv(host: str = "localhost", port: int | None = None) -> tuple[str, ...]:
    """``asip-status HOST [PORT]``."""
    if host.startswith("-"):
        raise ValueError(f"host {host!r} looks like an option")
    return ("asip-status", host) if port is None else ("asip-status", host, str(port))


def parse_asip_status(stdout: str) -> dict[str, str]:
    """The ``Key: value`` lines of asip-status output (first occurrence of each key wins)."""
    fields: dict[str, str] = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return fields


@attrs.frozen
class Answer:
    """Whether the server answered as expected, and what it said (or why not) for messages."""

    ok: bool
    detail: str


def judge_asip_status(done: Completed, expect: str = "Netatalk") -> Answer:
    """OK when asip-status exited 0 and its machine type (or, failing that, its output) contains ``expect``."""
    if done.returncode != 0:
        return Answer(ok=False, detail=f"`{done.command}` failed: {done.why()}")
    machine = parse_asip_status(done.stdout).get("Machine type", "")
    if expect in machine:
        return Answer(ok=True, detail=f"machine type {machine}")
    if not machine and expect in done.stdout:
        return Answer(ok=True, detail=f"output mentions {expect}")
    return Answer(ok=False, detail=f"`{done.command}` answered without {expect!r}: {done.why()}")


def judge_server_status(
    status: ServerStatus | None, error: str, expect: str = "Netatalk", *, address: str = "localhost:548"
) -> Answer:
    """OK when the machine type contains ``expect``; ``status`` is None (and ``error`` says why) when none came."""
    if status is None:
        return Answer(ok=False, detail=f"AFP server at {address} does not answer: {error}")
    if expect in status.machine_type:
        return Answer(ok=True, detail=f"machine type {status.machine_type}")
    return Answer(
        ok=False,
        detail=f"AFP server at {address} ({status.server_name}) answers as machine type "
        f"{status.machine_type!r}, not {expect!r}",
    )
