"""The zfs argument lists: batch operations are one command, options before names, names passed unchanged."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.zfs.strategies import components, dataset_names, snapshot_names
from zfstm.zfs import cli_argv
from zfstm.zfs.names import DatasetName, HoldTag, SnapshotName

FS = DatasetName("tank/tm")


def test_snapshot_is_one_command_with_user_props() -> None:
    """Several snapshots and their user properties make one `zfs snapshot` command."""
    names = [FS.snapshot("a"), DatasetName("tank/db").snapshot("a")]
    assert cli_argv.snapshot(names, {"zfstm:label": "hourly"}) == [
        "zfs", "snapshot", "-o", "zfstm:label=hourly", "tank/tm@a", "tank/db@a",
    ]  # fmt: skip


@given(dataset_names(), st.lists(components, min_size=1, max_size=30, unique=True))
def test_destroy_joins_short_names_with_commas(dataset: DatasetName, shorts: list[str]) -> None:
    """Destroying snapshots of one dataset is one `zfs destroy fs@a,b,c` whose argument splits back into the names."""
    argv = cli_argv.destroy_snapshots(dataset, shorts)
    assert argv[:2] == ["zfs", "destroy"] and len(argv) == 3
    head, _, tail = argv[2].partition("@")
    assert head == dataset.full and tail.split(",") == shorts


@given(st.lists(snapshot_names(), min_size=1, max_size=5))
def test_names_never_look_like_options(names: list[SnapshotName]) -> None:
    """No name argument starts with '-' (pools start with a letter), so zfs cannot read one as an option."""
    for argv in (cli_argv.hold(HoldTag("keep"), names), cli_argv.snapshot(names), cli_argv.holds(names)):
        assert not any(arg.startswith("-") for arg in argv if "@" in arg)


def test_listing_uses_fast_columns_by_default() -> None:
    """The default listing asks only for name, guid, createtxg, sorted by createtxg, own snapshots only."""
    assert cli_argv.list_snapshots(FS) == [
        "zfs", "list", "-H", "-p", "-t", "snapshot", "-o", "name,guid,createtxg", "-s", "createtxg", "-d", "1",
        "tank/tm",
    ]  # fmt: skip


def test_other_builders() -> None:
    """Each remaining builder produces the documented zfs command."""
    snap = FS.snapshot("s")
    assert cli_argv.rollback(snap) == ["zfs", "rollback", "tank/tm@s"]
    assert cli_argv.hold(HoldTag("k"), [snap]) == ["zfs", "hold", "k", "tank/tm@s"]
    assert cli_argv.release(HoldTag("k"), [snap]) == ["zfs", "release", "k", "tank/tm@s"]
    assert cli_argv.holds([snap]) == ["zfs", "holds", "-H", "-p", "tank/tm@s"]
    assert cli_argv.get(FS, ["origin", "zfstm:x"]) == [
        "zfs", "get", "-H", "-p", "-o", "property,value,source", "origin,zfstm:x", "tank/tm",
    ]  # fmt: skip
    assert cli_argv.set_property(FS, "zfstm:x", "a b") == ["zfs", "set", "zfstm:x=a b", "tank/tm"]
    assert cli_argv.create_filesystem(FS, {"canmount": "off"}) == ["zfs", "create", "-o", "canmount=off", "tank/tm"]
    assert cli_argv.clone(snap, DatasetName("tank/c")) == ["zfs", "clone", "tank/tm@s", "tank/c"]
    assert cli_argv.promote(FS) == ["zfs", "promote", "tank/tm"]
    assert cli_argv.rename(FS, DatasetName("tank/x")) == ["zfs", "rename", "tank/tm", "tank/x"]
    assert cli_argv.exists(snap) == ["zfs", "list", "-H", "-o", "name", "-t", "all", "tank/tm@s"]
    assert cli_argv.destroy_dataset(FS, recursive=True) == ["zfs", "destroy", "-r", "tank/tm"]
    assert cli_argv.destroy_dataset(FS) == ["zfs", "destroy", "tank/tm"]
    assert cli_argv.local_properties(FS) == [
        "zfs", "get", "-H", "-p", "-s", "local,received", "-o", "property,value", "all", "tank/tm",
    ]  # fmt: skip
    assert cli_argv.child_datasets(FS) == [
        "zfs", "list", "-H", "-o", "name", "-t", "filesystem,volume", "-d", "1", "tank/tm",
    ]  # fmt: skip


@given(dataset_names(), st.lists(components, min_size=1, max_size=30, unique=True))
def test_dry_run_destroy_is_one_argument_per_dataset(dataset: DatasetName, shorts: list[str]) -> None:
    """The space dry run is `zfs destroy -nvp fs@a,b,c`: options first, then the same argument a destroy gets."""
    argv = cli_argv.destroy_dry_run(dataset, shorts)
    assert argv[:3] == ["zfs", "destroy", "-nvp"]
    assert argv[3:] == cli_argv.destroy_snapshots(dataset, shorts)[2:]
