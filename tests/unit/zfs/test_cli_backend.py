"""The CLI backend's use of zfs, checked with a scripted runner: batching, retries, undo, quoting, locale."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence

import attrs
import pytest

from zfstm.command import Completed
from zfstm.errors import DatasetNotFound, HoldExists, SnapshotCloned, ZfsPermissionDenied
from zfstm.zfs.cli import DESTROY_ARGUMENT_BUDGET, RECLAIM_ARGUMENT_LIMIT, CliBackend
from zfstm.zfs.names import DatasetName, HoldTag, SnapshotName
from zfstm.zfs.prefix import CommandPrefix
from zfstm.zfs.types import DestroyOutcome

FS = DatasetName("tank/tm")


@attrs.define
class Script:
    """A runner answering each command with a handler's (returncode, stdout, stderr), recording the calls."""

    handler: Callable[[list[str]], tuple[int, str, str]]
    calls: list[list[str]] = attrs.Factory(list)

    def __call__(self, argv: Sequence[str], *, timeout: float | None = None) -> Completed:
        self.calls.append(list(argv))
        code, out, err = self.handler(list(argv))
        return Completed(tuple(argv), code, out, err)


def listing(names: list[SnapshotName]) -> str:
    return "".join(f"{n.full}\t{i + 1}\t{i + 10}\n" for i, n in enumerate(names))


def test_destroy_retries_without_held_and_reports_per_name() -> None:
    """A refused `zfs destroy fs@c,b,a` (newest first) is retried once without the held name; each name gets its
    outcome."""
    names = [FS.snapshot(s) for s in ("a", "b", "c")]

    def handler(argv: list[str]) -> tuple[int, str, str]:
        if argv[1] == "list":
            return 0, listing(names), ""
        if argv[2] == "tank/tm@c,b,a":
            return (
                1,
                "",
                "cannot destroy snapshot tank/tm@b: it's being held. Run 'zfs holds -r tank/tm@b' to see holders.\n",
            )
        return 0, "", ""

    script = Script(handler)
    report = CliBackend(runner=script).destroy_snapshots([*names, FS.snapshot("gone")])
    destroys = [c for c in script.calls if c[1] == "destroy"]
    assert destroys == [["zfs", "destroy", "tank/tm@c,b,a"], ["zfs", "destroy", "tank/tm@c,a"]]
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


def test_local_properties_and_children() -> None:
    """local_properties reads only local/received values; has_children ignores the dataset's own line."""

    def handler(argv: list[str]) -> tuple[int, str, str]:
        if argv[1] == "get":
            return 0, "compression\tlz4\nzfstm:role\ttime machine\n", ""
        if argv[-1] == "tank/tm":
            return 0, "tank/tm\ntank/tm/child\n", ""
        if argv[-1] == "tank/leaf":
            return 0, "tank/leaf\n", ""
        return 1, "", f"cannot open '{argv[-1]}': dataset does not exist\n"

    backend = CliBackend(runner=Script(handler))
    assert backend.local_properties(FS) == {"compression": "lz4", "zfstm:role": "time machine"}
    assert backend.has_children(FS) is True
    assert backend.has_children(DatasetName("tank/leaf")) is False
    with pytest.raises(DatasetNotFound, match="list tank/gone"):
        backend.has_children(DatasetName("tank/gone"))


def reclaim_handler(argv: list[str]) -> tuple[int, str, str]:
    """zfs destroy -nvp as tank/tm (1 MiB), tank/db (2 MiB), tank/empty (no such snapshots), tank/clone (cloned)."""
    dataset = argv[-1].partition("@")[0]
    if dataset == "tank/tm":
        return 0, "destroy\ttank/tm@a\nreclaim\t1048576\n", ""
    if dataset == "tank/db":
        return 0, "destroy\ttank/db@a\nreclaim\t2097152\n", ""
    if dataset == "tank/empty":
        return 1, "", "could not find any snapshots to destroy; check snapshot names.\n"
    if dataset == "tank/clone":
        return 1, "", "cannot destroy 'tank/clone@a': snapshot has dependent clones\nuse '-R' to destroy ...\n"
    return 1, "", f"cannot open '{dataset}': dataset does not exist\n"


def test_reclaimable_space_sums_one_dry_run_per_dataset() -> None:
    """One `zfs destroy -nvp` per dataset, summed; a dataset none of whose named snapshots exists adds nothing."""
    script = Script(reclaim_handler)
    names = [SnapshotName.parse(n) for n in ("tank/tm@a", "tank/db@a", "tank/tm@b", "tank/empty@x")]
    assert CliBackend(runner=script).reclaimable_space(names) == 3 * 1048576
    assert script.calls == [
        ["zfs", "destroy", "-nvp", "tank/tm@a,b"],
        ["zfs", "destroy", "-nvp", "tank/db@a"],
        ["zfs", "destroy", "-nvp", "tank/empty@x"],
    ]
    assert CliBackend(runner=script).reclaimable_space([]) == 0


def test_reclaimable_space_refusals_and_unknowns() -> None:
    """Missing dataset and clones raise, naming the dataset; too long an argument or no reclaim line is None."""
    backend = CliBackend(runner=Script(reclaim_handler))
    with pytest.raises(DatasetNotFound, match="reclaim tank/gone"):
        backend.reclaimable_space([SnapshotName.parse("tank/tm@a"), SnapshotName.parse("tank/gone@a")])
    with pytest.raises(SnapshotCloned):
        backend.reclaimable_space([SnapshotName.parse("tank/clone@a")])
    silent = Script(lambda argv: (0, "destroy\ttank/tm@a\n", ""))
    assert CliBackend(runner=silent).reclaimable_space([FS.snapshot("a")]) is None
    many = [FS.snapshot(f"{i:05d}-" + "x" * 100) for i in range(RECLAIM_ARGUMENT_LIMIT // 100)]
    counting = Script(reclaim_handler)
    assert CliBackend(runner=counting).reclaimable_space([DatasetName("tank/db").snapshot("a"), *many]) is None
    assert counting.calls == []


@pytest.mark.parametrize("acted", [False, True])
def test_destroy_killed_by_a_signal_looks_again(acted: bool) -> None:
    """A `zfs destroy` killed by a signal may or may not have acted: the names still there are FAILED (the message
    names the signal), the ones gone are DESTROYED, and the run goes on."""
    names = [FS.snapshot(s) for s in ("a", "b")]
    gone: set[SnapshotName] = set()

    def handler(argv: list[str]) -> tuple[int, str, str]:
        if argv[1] == "list":
            return 0, listing([n for n in names if n not in gone]), ""
        if acted:
            gone.update(names)
        return -9, "", ""

    report = CliBackend(runner=Script(handler)).destroy_snapshots(names)
    if acted:
        assert set(report.destroyed) == set(names) and not report.refused
    else:
        assert not report.destroyed
        assert {r.name for r in report.refused} == set(names)
        assert all(r.outcome is DestroyOutcome.FAILED and "killed by SIGKILL" in r.message for r in report.refused)


def test_destroy_of_names_gone_since_the_listing_reports_them_gone() -> None:
    """`could not find any snapshots to destroy` for names that were listed: they are NOT_FOUND, not failed."""
    names = [FS.snapshot("a")]
    script = Script(
        lambda argv: (
            (0, listing(names) if not any(c[1] == "destroy" for c in script.calls) else "", "")
            if argv[1] == "list"
            else (1, "", "could not find any snapshots to destroy; check snapshot names.\n")
        )
    )
    report = CliBackend(runner=script).destroy_snapshots(names)
    assert report.not_found == (names[0],) and not report.refused


def test_list_datasets_is_one_get_and_one_list_for_many_datasets() -> None:
    """Several datasets: one `zfs get` of their own and user properties, one `zfs list -t snapshot,bookmark` of
    all; only a dataset carrying a wanted user property itself (snapshots would inherit it) is read again."""
    a, b = DatasetName("tank/a"), DatasetName("tank/b")

    def handler(argv: list[str]) -> tuple[int, str, str]:
        if argv[1] == "get" and argv[-1] == "tank/a":  # the slow way, for tank/a only
            return 0, "tank/a@s1\tzfstm:managed\tyes\tinherited from tank/a\ntank/a@s1\tzfstm:trigger\tx\tlocal\n", ""
        if argv[1] == "get":
            return (
                0,
                "tank/a\twritten\t5\t-\ntank/a\tzfstm:managed\tyes\tlocal\ntank/a\tzfstm:trigger\t-\t-\n"
                + ("tank/b\twritten\t0\t-\ntank/b\tzfstm:managed\t-\t-\ntank/b\tzfstm:trigger\t-\t-\n"),
                "",
            )
        return 0, "tank/b@t1\t1\t7\tyes\t-\ntank/a@s1\t2\t8\tyes\tx\ntank/a#m\t2\t8\t-\t-\n", ""

    script = Script(handler)
    listed = CliBackend(runner=script).list_datasets([a, b], (), ["zfstm:managed", "zfstm:trigger"], ["written"])
    assert script.calls[:2] == [
        ["zfs", "get", "-H", "-p", "-o", "name,property,value,source", "written,zfstm:managed,zfstm:trigger",
         "tank/a", "tank/b"],
        ["zfs", "list", "-H", "-p", "-t", "snapshot,bookmark", "-o", "name,guid,createtxg,zfstm:managed,zfstm:trigger",
         "-s", "createtxg", "-d", "1", "tank/a", "tank/b"],
    ]  # fmt: skip
    assert len(script.calls) == 3 and script.calls[2][-1] == "tank/a"
    assert dict(listed["tank/a"].snapshots[0].user_props) == {"zfstm:trigger": "x"}  # managed is inherited
    assert dict(listed["tank/b"].snapshots[0].user_props) == {"zfstm:managed": "yes"}
    assert [m.short for m in listed["tank/a"].bookmarks] == ["m"]
    assert listed["tank/a"].properties == {"written": "5"} and listed["tank/b"].properties == {"written": "0"}


def test_list_datasets_and_holds_of_split_long_argument_lists() -> None:
    """Beyond 64 KiB of names the batch is split (ssh joins the whole command into one argument)."""
    datasets = [DatasetName(f"tank/{'d' * 200}{i}") for i in range(400)]
    script = Script(lambda argv: (0, "", ""))
    listed = CliBackend(runner=script).list_datasets(datasets)
    assert len(listed) == 400 and [c[1] for c in script.calls] == ["list", "list"]
    script.calls.clear()
    CliBackend(runner=script).holds_of([d.snapshot("s") for d in datasets])
    assert [c[1] for c in script.calls] == ["holds", "holds"]
