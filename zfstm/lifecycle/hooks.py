"""Hooks: commands the tick runs after an event, e.g. waking a replication job once a new known-good snapshot exists.

Why never fatal: the hook runs after the snapshot is taken and held; a replication job that is down must not turn
a good tick into a failed one (nor make SMF or systemd restart zfstm). A failure or a timeout is logged with the
command and what it said, and the next known-good snapshot runs the hook again.

:func:`hook_argv` is pure (the configured words with ``{target}``, ``{dataset}``, ``{snapshot}`` filled in); the
command runs through the service package's one runner (no shell, no stdin, bounded by the configured timeout).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from zfstm.config.model import HOOK_PLACEHOLDERS, HooksConfig
from zfstm.errors import ZfstmError
from zfstm.runner import run_command

log = logging.getLogger("zfstm.hooks")


def hook_argv(words: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """``words`` with each ``{name}`` placeholder replaced (the configuration only lets known names through)."""
    out = []
    for word in words:
        filled = word
        for name in HOOK_PLACEHOLDERS:
            filled = filled.replace("{" + name + "}", values.get(name, ""))
        out.append(filled)
    return out


def run_after_known_good(hooks: HooksConfig, *, target: str, dataset: str, snapshot: str) -> bool:
    """Run the ``after_known_good`` hook for one target's new known-good snapshot; True when it exited 0.

    Nothing configured: nothing runs (True). Every failure is logged and returned, never raised."""
    if not hooks.after_known_good:
        return True
    argv = hook_argv(hooks.after_known_good, {"target": target, "dataset": dataset, "snapshot": snapshot})
    shown = " ".join(argv)
    try:
        done = run_command(argv, timeout=hooks.timeout.total_seconds())
    except (ZfstmError, OSError) as exc:
        log.warning("%s: after_known_good hook `%s` failed: %s (the tick goes on)", target, shown, exc)
        return False
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        log.warning(
            "%s: after_known_good hook `%s` exited %d%s (the tick goes on)",
            target,
            shown,
            done.returncode,
            f": {said[-1]}" if said else "",
        )
        return False
    log.info("%s: after_known_good hook `%s` done", target, shown)
    return True
