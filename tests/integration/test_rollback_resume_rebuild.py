"""Kill `zfstm rollback` at every step boundary of the *rebuild* plan (the CNID database at netatalk's default
place, off ZFS) and `--resume` each time: the test of test_rollback_resume.py, on that layout.

The CI suite tries every step once, alternating "before" and after (``ZFSTM_ROLLBACK_BOUNDARIES=alternate``); all
boundaries with ``ZFSTM_ROLLBACK_BOUNDARIES=all``.
"""

from __future__ import annotations

from tests.integration.test_rollback_resume import (
    pytestmark,
    share,
    test_killed_at_every_step_boundary_resume_completes,
)

LAYOUT = "default"

__all__ = ["pytestmark", "share", "test_killed_at_every_step_boundary_resume_completes"]
