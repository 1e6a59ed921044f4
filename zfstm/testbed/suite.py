"""Run the integration tests in two lanes of testbed VMs side by side, one fresh VM per test file.

Every integration test file starts from a fresh pool and a stopped netatalk, as the testbed promises: the files
use the same dataset names (tank/tm, tank/cnid) and services, so sharing one VM would make them collide. Much of an
integration test's time in the emulated VM is spent waiting (netatalk starting, quiet periods, AFP round trips), so
two lanes side by side finish well before one. Each line is prefixed with its lane's name as it arrives.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from typing import TextIO

import attrs

from zfstm.testbed import run as run_mod
from zfstm.testbed.recipe import Recipe


@attrs.frozen
class Group:
    """One lane of integration test files, each run in its own VM (paths relative to the checkout)."""

    name: str
    paths: tuple[str, ...]


#: Balanced by their measured time in the VM (estimated from each file's last run, 2026-12-03: about 40 min each);
#: the files added last come first in their lane, so a failure shows early. Every integration test file must be in
#: exactly one group.
GROUPS = (
    Group(
        "zfs",
        (
            "tests/integration/test_volume_nbd.py",  # nbd-server, nbd-client, loopback: 168 s + 45 s boot (2026-12-03)
            "tests/integration/test_replication.py",  # syncoid, bookmarks, the hook: 246 s + boot (2026-12-03)
            "tests/integration/test_volume.py",  # LIO + open-iscsi on loopback: 306 s + 51 s boot (2026-12-03)
            # Pool full (snapshot, rollback), netatalk start fails, zfs killed mid-prune, SIGTERM mid-tick: all 7 in
            # 411 s + 28 s boot (2026-12-03, another VM beside); the suite runs one variant of the last two (FILE_ENV):
            # 5 passed in 318 s + 37 s boot (2026-12-03, another VM beside).
            "tests/integration/test_faults.py",
            "tests/contract",
            "tests/integration/test_zfs_facts.py",
            "tests/integration/test_retention_live.py",
            "tests/integration/test_service_delegation.py",
            "tests/integration/test_provision.py",
            "tests/integration/test_service_pidfile.py",
            "tests/integration/test_rollback_layouts.py",  # AFP tests (~13 min), in this lane because it is shorter
            "tests/integration/test_rollback_devno.py",  # 156 s (2026-12-03); moved: the afp lane ended ~6 min later
        ),
    ),
    Group(
        "afp",
        (
            # inotify on SnapshotHistory.plist, netatalk 4.2 without FCE: 50 s + 39 s boot (2026-12-03, beside 2 VMs)
            "tests/integration/test_events_files.py",
            "tests/integration/test_events.py",  # session ends: netatalk 4.2, 3.1, Samba; 99 s + 25 s boot (2026-12-03)
            "tests/integration/test_samba.py",  # provision, smbclient, tick, rollback, served again: 1.4-2.3 min
            # The installed units under systemd as PID 1 (`run --systemd`): 3.6 min (2026-12-03, host tests beside).
            "tests/integration/test_systemd_units.py",
            "tests/integration/test_netatalk_cnid.py",
            "tests/integration/test_lifecycle.py",
            "tests/integration/test_rollback.py",
            "tests/integration/test_rollback_resume.py",
            "tests/integration/test_netatalk31.py",  # netatalk 3.1 beside 4.2: about 2 min in its VM (2026-12-03)
            "tests/integration/test_rollback_resume_rebuild.py",  # the rebuild plan's boundaries, ~6 min
        ),
    ),
)


#: Integration test files the suite does not run yet, each with the reason; printed on every run so that nobody
#: mistakes a green suite for proof of these. Run one by hand with
#: `python3 -m zfstm.testbed run -- python3 -m pytest -p no:cacheprovider -q /src/PATH`.
DEFERRED: dict[str, str] = {}

#: Environment for one file's run in the suite, printed with it. The kill-at-every-boundary test tries all 26
#: boundaries by default (~35 min in the VM); the suite tries every step once, alternating "before" and after, and
#: the full run is recorded in docs/benchmarks.md with the command that repeats it.
FILE_ENV: dict[str, dict[str, str]] = {
    "tests/integration/test_rollback_resume.py": {"ZFSTM_ROLLBACK_BOUNDARIES": "alternate"},
    "tests/integration/test_rollback_resume_rebuild.py": {"ZFSTM_ROLLBACK_BOUNDARIES": "alternate"},
    # zfs killed after it acted (the look again) and SIGTERM to the process group (the zfs child dies with it); the
    # killed-before and daemon-alone variants run when the file is run by hand (docs/benchmarks.md).
    "tests/integration/test_faults.py": {"ZFSTM_FAULTS_VARIANTS": "one"},
}


#: Files whose VM boots systemd as PID 1 (`run --systemd`): they test the installed units under a real systemd.
SYSTEMD_FILES = frozenset({"tests/integration/test_systemd_units.py"})


#: How often a file runs again when its VM dies without a command status (exit 125: the guest kernel panicked or
#: QEMU died). Seen once in CI (2026-11-28): a guest panic in kmem_cache_alloc under the emulator, 9 min into the
#: contract suite, while the same suite passes on every other run. A crash is reported loudly with its console
#: log; a test that fails (any other status) never runs again.
CRASH_RETRIES = 1


def run_file(path: str, *, recipe: Recipe, timeout: float, memory_mb: int, stream: run_mod.TextSink) -> tuple[int, int]:
    """Run one test file in a fresh VM, again in another after a VM crash; (status, crashed VMs)."""
    crashes = 0
    while True:
        status = run_mod.run(
            pytest_argv(path),
            recipe=recipe,
            timeout=timeout,
            memory_mb=memory_mb,
            stdout=stream,
            systemd=path in SYSTEMD_FILES,
        )
        if status != run_mod.EXIT_TESTBED_FAILED or crashes >= CRASH_RETRIES:
            return status, crashes + (status == run_mod.EXIT_TESTBED_FAILED)
        crashes += 1
        stream.write(f"\n== {path}: the VM crashed (see above); running the file again in a fresh VM\n")


def pytest_argv(path: str) -> list[str]:
    env = [f"{key}={value}" for key, value in sorted(FILE_ENV.get(path, {}).items())]
    return [
        *(["env", *env] if env else []),
        "python3",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "--color=no",
        "-rfEs",
        "-m",
        "integration",
        f"/src/{path}",
    ]


class PrefixedLines:
    """A text stream that writes whole lines to ``target`` with a prefix, one writer at a time."""

    def __init__(self, prefix: str, target: TextIO, lock: threading.Lock) -> None:
        self.prefix = prefix
        self.target = target
        self.lock = lock
        self.pending = ""

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        if lines:
            with self.lock:
                self.target.write("".join(f"{self.prefix}{line}\n" for line in lines))
                self.target.flush()
        return len(text)

    def flush(self) -> None:
        """Lines are flushed as they complete; a partial line waits for its end."""


def run_groups(groups: Sequence[Group], *, recipe: Recipe, timeout: float, memory_mb: int = 3072) -> int:
    """Run each group in its own VM, in parallel; 0 only when every group passed."""
    lock = threading.Lock()
    results: dict[str, int] = {}
    started = time.monotonic()

    def one(group: Group) -> None:
        stream = PrefixedLines(f"[{group.name}] ", sys.stdout, lock)
        worst = 0
        for path in group.paths:
            if path in DEFERRED:
                stream.write(f"== {path}: NOT RUN (deferred: {DEFERRED[path]})\n")
                continue
            env = " ".join(f"{k}={v}" for k, v in sorted(FILE_ENV.get(path, {}).items()))
            boot = ", systemd" if path in SYSTEMD_FILES else ""
            stream.write(f"== {path} (fresh VM{boot}{', ' + env if env else ''})\n")
            began = time.monotonic()
            status, crashes = run_file(path, recipe=recipe, timeout=timeout, memory_mb=memory_mb, stream=stream)
            stream.write("\n" if stream.pending else "")
            verdict = "passed" if status == 0 else f"FAILED (exit {status})"
            crashed = f" (after {crashes} crashed VM{'s' * (crashes > 1)})" if crashes else ""
            stream.write(f"== {path}: {verdict}{crashed} in {time.monotonic() - began:.0f} s\n")
            worst = worst or status
        results[group.name] = worst

    threads = [threading.Thread(target=one, args=(group,), name=group.name) for group in groups]
    for thread in threads:
        thread.start()
    try:
        with run_mod.signals_stop_the_vm():
            for thread in threads:
                while thread.is_alive():
                    thread.join(timeout=0.5)
    except (KeyboardInterrupt, run_mod.Stopped):
        print("zfstm.testbed: stopping the test VMs", file=sys.stderr)
        run_mod.stop_all()
        for thread in threads:
            thread.join()
        return run_mod.EXIT_INTERRUPTED
    minutes = (time.monotonic() - started) / 60
    for group in groups:
        status = results.get(group.name, run_mod.EXIT_TESTBED_FAILED)
        print(f"integration group {group.name}: {'passed' if status == 0 else f'FAILED (exit {status})'}")
    print(f"integration tests took {minutes:.1f} min in {len(groups)} VMs")
    return 0 if all(results.get(group.name) == 0 for group in groups) else 1
