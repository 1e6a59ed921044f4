"""Shared test setup: Hypothesis profiles, and integration tests only inside the testbed VM."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
# The guest is a TCG-emulated VM: slower, and its checkout is read-only (no example database).
settings.register_profile("testbed", max_examples=50, deadline=None, database=None)
settings.load_profile(
    "testbed"
    if os.environ.get("ZFSTM_TESTBED")
    else ("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
)

IN_TESTBED = bool(os.environ.get("ZFSTM_TESTBED"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Integration tests need real ZFS: outside the testbed they are skipped with a pointer to the README command."""
    if IN_TESTBED:
        return
    skip = pytest.mark.skip(reason="needs real ZFS: runs inside the testbed (python -m zfstm.testbed run -- ...)")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)
