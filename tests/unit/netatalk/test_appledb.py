"""The .AppleDB directory model and the lock probe (zfstm.netatalk.appledb)."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pytest

from zfstm.netatalk.appledb import FileRole, classify, classify_listing, list_appledb, probe_lock


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("cnid2.db", FileRole.DATA),
        ("db_param", FileRole.DATA),
        ("lock", FileRole.DISPOSABLE),
        ("log.0000000001", FileRole.DISPOSABLE),
        ("__db.001", FileRole.DISPOSABLE),
        ("db_errlog", FileRole.DIAGNOSTIC),
        ("cnid.db", FileRole.UNKNOWN),
    ],
)
def test_classify(name: str, role: FileRole) -> None:
    """Each file netatalk 4.2.3 leaves in .AppleDB has its role; cnid2.db is data even though cnid_dbd's wipe
    deletes it."""
    assert classify(name) is role


def test_listing_of_a_real_directory_as_seen_in_the_testbed(tmp_path: Path) -> None:
    """The listing seen under netatalk 4.2.3 splits into data, disposable and diagnostic files."""
    for name in ("__db.001", "__db.002", "__db.003", "cnid2.db", "db_errlog", "lock", "log.0000000001"):
        (tmp_path / name).write_bytes(b"")
    listing = list_appledb(tmp_path)
    assert listing == classify_listing(
        str(tmp_path), ["__db.001", "__db.002", "__db.003", "cnid2.db", "db_errlog", "lock", "log.0000000001"]
    )
    assert listing.data == ("cnid2.db",)
    assert listing.disposable == ("__db.001", "__db.002", "__db.003", "lock", "log.0000000001")
    assert listing.diagnostic == ("db_errlog",) and listing.has_database


def test_probe_lock_without_lock_file_or_holder(tmp_path: Path) -> None:
    """No lock file, or a lock file nobody locks, means no holder."""
    assert probe_lock(tmp_path) is None
    (tmp_path / "lock").write_bytes(b"")
    assert probe_lock(tmp_path) is None


def test_probe_lock_reports_the_holder_pid(tmp_path: Path) -> None:
    """A process holding a write lock on .AppleDB/lock (as cnid_dbd does) is reported with its pid."""
    lock = tmp_path / "lock"
    lock.write_bytes(b"")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: take the lock like cnid_dbd, signal, wait to be killed
        fd = os.open(lock, os.O_RDWR)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        os.write(write_end, b"x")
        time.sleep(30)
        os._exit(0)
    try:
        os.read(read_end, 1)
        holder = probe_lock(tmp_path)
        assert holder is not None and holder.pid == pid and holder.exclusive
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert probe_lock(tmp_path) is None
