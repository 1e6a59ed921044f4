"""Does the AFP server answer? It is asked for its server status over DSI, and the answer is judged here.

Pure. The probe asks natively (:mod:`.dsi_status`: what ``asip-status`` sends, without its Perl start-up) and
:func:`judge_server_status` judges the answer.
"""

from __future__ import annotations

import attrs

from zfstm.service.dsi_status import ServerStatus


@attrs.frozen
class Answer:
    """Whether the server answered as expected, and what it said (or why not) for messages."""

    ok: bool
    detail: str


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
