"""The CLI backend's use of zfs, checked with a scripted runner: batching, retries, undo, quoting, locale."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence

import attrs
import pytest

from zfstm.errors import HoldExists, ZfsPermissionDenied
from zfstm.zfs.cli import DESTROY_ARGUMENT_BUDGET, CliBackend, Completed
from zfstm.zfs.names import DatasetName, HoldTag, SnapshotName
from zfstm.zfs.prefix import CommandPrefix
from zfstm.zfs.types import DestroyOutcome

FS = DatasetName("tank/tm")


@attrs.define
class Script:
    """A runner answering each command with a handler's (returncode, stdout, stderr), recording the calls."""

    handler: Callable[[list[str]], tuple[int, str, str]]
    calls: list[list[str]] = attrs.Factory(list)

    def __call__(self, argv: Sequence[str]) -> Completed:
        self.calls.append(list(argv))
        code, out, err = self.handler(list(argv))
        return Completed(tuple(argv), code, out, err)


def listing(names: list[SnapshotName]) -> str:
    return "".join(f"{n.full}\t{i + 1}\t{i + 10}\n" for i, n in enumerate(names))


def test_destroy_retries_without_held_and_reports_per_name() -> None:
    """A refused `zfs destroy fs@a,b,c` is retried once without the held name; each name gets its outcome."""
    names = [FS.snapshot(s) for s in ("a", "b", "c")]

    def handler(argv: list[str]) -> tuple[int, str, str]:
        if argv[1] == "list":
            return 0, listing(names), ""
        if argv[2] == "tank/tm@a,b,c":
            return (
                1,
                "",
                "cannot destroy snapshot tank/tm@b: it's being held. Run 'zfs holds -r tank/tm@b' to see holders.\n",
            )
        return 0, "", ""

    script = Script(handler)
    report = CliBackend(runner=script).destroy_snapshots([*names, FS.snapshot("gone")])
    destroys = [c for c in script.calls if c[1] == "destroy"]
    assert destroys == [["zfs", "destroy", "tank/tm@a,b,c"], ["zfs", "destroy", "tank/tm@a,c"]]
    assert report.outcome_of(names[1]) is DestroyOutcome.HELD
    assert report.outcome_of(FS.snapshot("gone")) is DestroyOutcome.NOT_FOUND
    assert set(report.destroyed) == {names[0], names[2]}


def test_destroy_splits_long_batches() -> None:
    """Thousands of long names are split so that no destroy argument exceeds the budget."""
    names = [FS.snapshot(f"{i:05d}-" + "x" * 100) for i in range(2000)]
    script = Script(lambda argv: (0, listing(names), "") if argv[1] == "list" else (0, "", ""))
    report = CliBackend(runner=script).destroy_snapshots(names)
    destroys = [c for c in script.calls if c[1] == "destroy"]
    assert len(destroys) > 1 and all(len(c[2]) <= DESTROY_ARGUMENT_BUDGET + len("tank/tm@") for c in destroys)
    assert len(report.destroyed) == 2000


def test_destroy_permission_denied_raises() -> None:
    """Permission denied is not a per-name outcome: it raises ZfsPermissionDenied."""
    names = [FS.snapshot("a")]

    def handler(argv: list[str]) -> tuple[int, str, str]:
        if argv[1] == "list":
            return 0, listing(names), ""
        return 1, "", "cannot destroy snapshots: permission denied\n"

    with pytest.raises(ZfsPermissionDenied):
        CliBackend(runner=Script(handler)).destroy_snapshots(names)


def test_hold_failing_half_way_releases_what_it_placed() -> None:
    """If `zfs hold` fails on one snapshot after holding others, those holds are released again."""
    a, b = FS.snapshot("a"), FS.snapshot("b")

    def handler(argv: list[str]) -> tuple[int, str, str]:
        if argv[1] == "holds":
            return 0, "", ""
        if argv[1] == "hold":
            return 1, "", "cannot hold snapshot 'tank/tm@b': tag already exists on this dataset\n"
        return 0, "", ""

    script = Script(handler)
    with pytest.raises(HoldExists):
        CliBackend(runner=script).hold([a, b], HoldTag("keep"))
    assert script.calls[-1] == ["zfs", "release", "keep", "tank/tm@a"]


def test_joined_prefix_quotes_and_sets_locale() -> None:
    """Through an ssh-like prefix every word is quoted, and LC_ALL=C is set on the far side."""
    script = Script(lambda argv: (0, "", ""))
    backend = CliBackend(CommandPrefix.ssh("nas"), runner=script)
    backend.snapshot([DatasetName("tank/Time Machine").snapshot("before update")])
    (argv,) = script.calls
    assert argv[:3] == ["ssh", "--", "nas"]
    assert shlex.split(" ".join(argv[3:])) == ["env", "LC_ALL=C", "zfs", "snapshot", "tank/Time Machine@before update"]


def test_exists_maps_missing_to_false() -> None:
    """exists is False when zfs says the dataset does not exist, True on success."""
    missing = Script(lambda argv: (1, "", "cannot open 'tank/x': dataset does not exist\n"))
    assert CliBackend(runner=missing).exists(DatasetName("tank/x")) is False
    assert CliBackend(runner=Script(lambda argv: (0, "tank/x\n", ""))).exists(DatasetName("tank/x")) is True
