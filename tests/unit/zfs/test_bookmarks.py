"""Listing bookmarks through the zfs command: the argument list, the parser, and which backends have a CLI."""

from __future__ import annotations

import pytest

from zfstm.command import Completed
from zfstm.errors import DatasetNotFound, ZfsError
from zfstm.zfs.bookmarks import cli_of, list_bookmarks, list_bookmarks_argv, parse_bookmarks
from zfstm.zfs.cli import CliBackend
from zfstm.zfs.fake import FakeBackend
from zfstm.zfs.names import DatasetName
from zfstm.zfs.prefix import CommandPrefix

DS = DatasetName("tank/tm")


def test_argv_lists_only_the_datasets_own_bookmarks_oldest_first() -> None:
    """Depth 1, parsable, no header, sorted by createtxg: the shape the parser expects."""
    assert list_bookmarks_argv(DS) == [
        "zfs", "list", "-H", "-p", "-t", "bookmark", "-o", "name,guid,createtxg", "-s", "createtxg", "-d", "1",
        "tank/tm",
    ]  # fmt: skip


def test_parse_orders_by_createtxg_and_gives_short_names() -> None:
    """Lines become BookmarkInfo, oldest first, whatever order they came in."""
    marks = parse_bookmarks("tank/tm#b\t22\t40\ntank/tm#zrepl_CURSOR_G_1_J_push\t11\t30\n", DS)
    assert [(m.short, m.guid, m.createtxg) for m in marks] == [("zrepl_CURSOR_G_1_J_push", 11, 30), ("b", 22, 40)]


@pytest.mark.parametrize("line", ["tank/other#b\t1\t2", "tank/tm#b\tx\t2", "tank/tm#b\t1", "tank/tm@s\t1\t2"])
def test_parse_refuses_what_is_not_a_bookmark_of_the_dataset(line: str) -> None:
    """Another dataset's bookmark, a snapshot, a bad number or a missing column is a ZfsError, never a guess."""
    with pytest.raises(ZfsError, match="unexpected bookmark line"):
        parse_bookmarks(line + "\n", DS)


def test_list_runs_under_the_backends_prefix_and_maps_errors() -> None:
    """The CLI backend's prefix (ssh) wraps the command; a missing dataset is DatasetNotFound."""
    seen: list[list[str]] = []

    def runner(argv: object, *, timeout: float | None = None) -> Completed:
        seen.append(list(argv))  # type: ignore[call-overload]
        return Completed(tuple(seen[-1]), 0, "tank/tm#b\t5\t9\n", "")

    backend = CliBackend(prefix=CommandPrefix(("ssh", "backup"), joins_arguments=True), runner=runner)
    assert [m.short for m in list_bookmarks(backend, DS)] == ["b"]
    assert seen[0][:2] == ["ssh", "backup"] and "bookmark" in seen[0]

    def missing(argv: object, *, timeout: float | None = None) -> Completed:
        return Completed((), 1, "", "cannot open 'tank/tm': dataset does not exist\n")

    with pytest.raises(DatasetNotFound):
        list_bookmarks(CliBackend(runner=missing), DS)


def test_a_backend_without_a_zfs_command_has_no_bookmarks() -> None:
    """The fake keeps no bookmarks: the listing is empty rather than an error."""
    assert cli_of(FakeBackend()) is None
    assert list_bookmarks(FakeBackend(), DS) == ()
