"""zfs stderr becomes typed exceptions and per-name destroy outcomes in one place."""

from __future__ import annotations

import pytest

from zfstm.errors import (
    DatasetBusy,
    DatasetExists,
    DatasetNotFound,
    EnvironmentMissing,
    HoldExists,
    HoldNotFound,
    InvalidName,
    SnapshotCloned,
    SnapshotExists,
    SnapshotHeld,
    SnapshotNotLatest,
    ZfsError,
    ZfsPermissionDenied,
)
from zfstm.zfs.cli_errors import destroy_refusals, error_from_stderr, failed_names
from zfstm.zfs.names import SnapshotName
from zfstm.zfs.types import DestroyOutcome

# Messages as printed by zfs 2.3.9 in the testbed (see docs/zfs-backend.md).
CASES = [
    ("snapshot", "tank/a@x", "cannot create snapshot 'tank/a@x': dataset already exists\n", SnapshotExists),
    ("create", "tank/a", "cannot create 'tank/a': dataset already exists\n", DatasetExists),
    ("snapshot", "tank/n@x", "cannot open 'tank/n': dataset does not exist\nusage:\n", DatasetNotFound),
    ("snapshot", "tank/a@x", "cannot create snapshots : permission denied\n", ZfsPermissionDenied),
    ("snapshot", "tank/a@x!", "cannot create snapshot 'tank/a@x!': invalid character '!' in name\n", InvalidName),
    (
        "rollback",
        "tank/a@x",
        "cannot rollback to 'tank/a@x': more recent snapshots or bookmarks exist\nuse '-r' to force deletion of "
        "the following snapshots and bookmarks:\ntank/a@y\n",
        SnapshotNotLatest,
    ),
    ("hold", "tank/a@x", "cannot hold snapshot 'tank/a@x': tag already exists on this dataset\n", HoldExists),
    (
        "release",
        "tank/a@x",
        "cannot release hold from snapshot 'tank/a@x': no such tag on this dataset\n",
        HoldNotFound,
    ),
    (
        "destroy",
        "tank/a@x",
        "cannot destroy snapshot tank/a@x: it's being held. Run 'zfs holds -r tank/a@x' to see holders.\n",
        SnapshotHeld,
    ),
    (
        "destroy",
        "tank/a@x",
        "cannot destroy 'tank/a@x': snapshot has dependent clones\nuse '-R' to destroy the following datasets:\n",
        SnapshotCloned,
    ),
    ("create", "tank/n/x", "cannot create 'tank/n/x': parent does not exist\n", DatasetNotFound),
    (
        "snapshot",
        "tank/a@x",
        "cannot create snapshots : this property can not be modified for snapshots\n",
        InvalidName,
    ),
    ("destroy", "tank/a", "cannot destroy 'tank/a': filesystem has children\nuse '-r' to destroy\n", DatasetBusy),
    ("set", "tank/a", "cannot set property for 'tank/a': invalid property 'bogus'\n", InvalidName),
    ("promote", "tank/a", "cannot promote 'tank/a': not a cloned filesystem\n", ZfsError),
]


@pytest.mark.parametrize(("operation", "dataset", "stderr", "expected"), CASES)
def test_messages_map_to_exception_classes(operation: str, dataset: str, stderr: str, expected: type[ZfsError]) -> None:
    """Each known zfs message maps to its class, which names the operation and the dataset."""
    error = error_from_stderr(stderr, returncode=1, operation=operation, dataset=dataset)
    assert type(error) is expected
    assert isinstance(error, ZfsError)
    assert error.operation == operation and error.dataset == dataset
    assert dataset in str(error)


def test_missing_zfs_command() -> None:
    """Exit status 127 with 'not found' (a remote shell without zfs) is EnvironmentMissing."""
    error = error_from_stderr("sh: 1: zfs: not found\n", returncode=127, operation="list", dataset="tank")
    assert isinstance(error, EnvironmentMissing)


def test_destroy_refusals_per_name() -> None:
    """zfs 2.3.9's held and cloned messages become HELD and CLONED for the batch's names, even with ':' in names."""
    batch = [SnapshotName.parse(f"tank/a b@2024-05-01T10:00:0{i}Z") for i in range(4)]
    stderr = (
        f"cannot destroy snapshot {batch[0]}: it's being held. Run 'zfs holds -r {batch[0]}' to see holders.\n"
        f"cannot destroy '{batch[1]}': snapshot has dependent clones\n"
        "use '-R' to destroy the following datasets:\n"
        "tank/clone\n"
        f"cannot destroy snapshot {batch[2]}: out of space\n"
        "cannot destroy snapshots: some other summary\n"
    )
    refused = destroy_refusals(stderr, batch)
    assert {n: outcome for n, (outcome, _) in refused.items()} == {
        batch[0]: DestroyOutcome.HELD,
        batch[1]: DestroyOutcome.CLONED,
        batch[2]: DestroyOutcome.FAILED,
    }
    assert refused[batch[2]][1] == "out of space"


def test_destroy_refusals_do_not_confuse_prefixes() -> None:
    """A refusal of tank/a@s1 is not taken for tank/a@s10, or the reverse."""
    batch = [SnapshotName.parse("tank/a@s1"), SnapshotName.parse("tank/a@s10")]
    refused = destroy_refusals("cannot destroy snapshot tank/a@s10: dataset is busy\n", batch)
    assert list(refused) == [batch[1]]


def test_failed_names_from_quoted_lines() -> None:
    """Quoted snapshot names on 'cannot ...' lines are the names that failed."""
    stderr = "cannot hold snapshot 'tank/a@x y': tag already exists on this dataset\nother line 'tank/b@z'\n"
    assert failed_names(stderr) == {SnapshotName.parse("tank/a@x y")}


def test_a_zfs_killed_by_a_signal_says_so() -> None:
    """Status -9 from subprocess: the message names SIGKILL and that zfs may have acted, whatever stderr holds."""
    error = error_from_stderr("", returncode=-9, operation="snapshot", dataset="tank/tm@x")
    assert type(error) is ZfsError
    assert "killed by SIGKILL" in str(error) and "may or may not have acted" in str(error)
    assert "signal 99" in str(error_from_stderr("", returncode=-99, operation="destroy"))
