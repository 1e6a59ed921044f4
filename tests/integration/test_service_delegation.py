"""The `zfs allow` set docs/services.md gives the service user is enough, and each part of it is needed.

Runs the zfs CLI as the testbed's unprivileged user ``zfsuser`` against real OpenZFS: the operations the zfstm
service performs (snapshot with user properties, hold, release, set a user property, destroy) succeed with exactly
the documented permissions, and fail when one of them (for instance ``mount`` for destroy) is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

POOL = os.environ.get("ZFSTM_TESTBED_POOL", "tank")
OUT = Path(os.environ.get("ZFSTM_TESTBED_OUT", "/tmp/work/out"))
USER = "zfsuser"
#: What docs/services.md tells administrators to delegate to the service user.
SERVICE_PERMISSIONS = ("snapshot", "destroy", "mount", "hold", "release", "userprop")


def zfs(*args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["zfs", *args], capture_output=True, text=True, check=False, user=user)


def as_user(*args: str) -> subprocess.CompletedProcess[str]:
    return zfs(*args, user=USER)


def fresh_dataset(name: str, permissions: tuple[str, ...]) -> str:
    dataset = f"{POOL}/{name}"
    assert zfs("create", dataset).returncode == 0
    if permissions:
        done = zfs("allow", "-u", USER, ",".join(permissions), dataset)
        assert done.returncode == 0, done.stderr
    return dataset


def service_cycle(dataset: str) -> dict[str, str]:
    """Every ZFS operation the zfstm service does on a share, as the unprivileged user; '' = success."""
    snap = f"{dataset}@zfstm-20261128T030000Z"
    steps = {
        "snapshot -o user prop": as_user("snapshot", "-o", "org.zfstm:owner=zfstm", snap),
        "hold": as_user("hold", "zfstm-known-good", snap),
        "set user prop": as_user("set", "org.zfstm:verified=yes", snap),
        "release": as_user("release", "zfstm-known-good", snap),
        "destroy snapshot": as_user("destroy", snap),
    }
    return {step: done.stderr.strip() if done.returncode else "" for step, done in steps.items()}


def test_dev_zfs_is_usable_by_unprivileged_users() -> None:
    """The unprivileged user can list datasets at all (/dev/zfs is open to everyone; the kernel checks rights)."""
    done = as_user("list", "-H", "-o", "name", POOL)
    assert done.returncode == 0, done.stderr


def test_documented_permissions_are_enough() -> None:
    """With exactly the documented set, the whole service cycle succeeds as an unprivileged user."""
    dataset = fresh_dataset("deleg-ok", SERVICE_PERMISSIONS)
    results = service_cycle(dataset)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "delegation-ok.json").write_text(json.dumps(results, indent=2))
    assert all(err == "" for err in results.values()), results


def test_without_any_delegation_everything_is_refused() -> None:
    """Without delegation the user can take no snapshot (the service user really is unprivileged)."""
    dataset = fresh_dataset("deleg-none", ())
    assert as_user("snapshot", f"{dataset}@x").returncode != 0


#: Which step must be the first to fail when one permission is missing.
FIRST_FAILURE = {
    "snapshot": {"snapshot -o user prop"},
    "userprop": {"snapshot -o user prop", "set user prop"},
    "hold": {"hold"},
    "release": {"release"},
    "destroy": {"destroy snapshot"},
    "mount": {"destroy snapshot"},  # the kernel checks mount before destroy
}


@pytest.mark.parametrize("missing", sorted(FIRST_FAILURE))
def test_each_documented_permission_is_needed(missing: str) -> None:
    """Dropping any one permission of the set breaks the step that needs it (destroy fails without mount)."""
    remaining = tuple(p for p in SERVICE_PERMISSIONS if p != missing)
    dataset = fresh_dataset(f"deleg-no-{missing}", remaining)
    results = service_cycle(dataset)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"delegation-without-{missing}.json").write_text(json.dumps(results, indent=2))
    failed = [step for step, err in results.items() if err]
    assert failed, f"everything still worked without {missing}: {results}"
    assert failed[0] in FIRST_FAILURE[missing], results
