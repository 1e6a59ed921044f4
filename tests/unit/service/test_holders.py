"""Tests for the pure holder model: paths under watched directories, /proc maps, fuser and ps output."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.service.fakes import FakeRunner
from zfstm.service.holder_scan import FuserScan
from zfstm.service.holders import (
    Holder,
    describe_holders,
    fuser_argv,
    holders_from_links,
    is_under,
    mapped_paths,
    parse_fuser,
    parse_ps,
    ps_argv,
    wanted,
)

component = st.text(alphabet="abcdefgh.-_ ", min_size=1, max_size=6).filter(lambda c: c not in (".", ".."))


def test_is_under_compares_components_not_prefixes() -> None:
    """/tank/tm2 is not under /tank/tm; /tank/tm itself and /tank/tm/x are."""
    assert is_under("/tank/tm/x/y", ["/tank/tm"]) == "/tank/tm"
    assert is_under("/tank/tm", ["/tank/tm"]) == "/tank/tm"
    assert is_under("/tank/tm2/x", ["/tank/tm"]) is None
    assert is_under("/tank/tm/.AppleDB/lock (deleted)", ["/tank/tm/.AppleDB"]) == "/tank/tm/.AppleDB"


@given(st.lists(component, min_size=1, max_size=4), st.lists(component, max_size=4))
def test_every_path_below_a_directory_is_under_it(base: list[str], rest: list[str]) -> None:
    """Any path built by appending components to a directory is under that directory."""
    directory = "/" + "/".join(base)
    path = "/".join([directory, *rest])
    assert is_under(path, [directory]) == directory


@given(st.lists(component, min_size=1, max_size=4), component)
def test_sibling_with_longer_name_is_not_under(base: list[str], suffix: str) -> None:
    """A sibling whose name merely starts with the directory's name is not under it."""
    directory = "/" + "/".join(base)
    assert is_under(directory + suffix, [directory]) is None


def test_holders_from_links_keeps_only_watched_absolute_paths() -> None:
    """Sockets, pipes and unrelated files are not holders; fd, cwd and mmap paths under the dirs are."""
    links = [
        ("fd 3", "socket:[1234]"),
        ("fd 4", "/tank/cnid/tm/.AppleDB/cnid2.db"),
        ("fd 5", "/var/log/afpd.log"),
        ("cwd", "/tank/tm"),
        ("mmap", "/tank/cnid/tm/.AppleDB/__db.001"),
    ]
    found = holders_from_links(42, "cnid_dbd", links, ["/tank/tm", "/tank/cnid/tm"])
    assert sorted((h.how, h.path) for h in found) == [
        ("cwd", "/tank/tm"),
        ("fd 4", "/tank/cnid/tm/.AppleDB/cnid2.db"),
        ("mmap", "/tank/cnid/tm/.AppleDB/__db.001"),
    ]


def test_mapped_paths_reads_the_path_column() -> None:
    """Only the path column of /proc/PID/maps is taken, and only real paths."""
    maps = (
        "7f0000000000-7f0000001000 rw-s 00000000 00:2a 77 /tank/cnid/tm/.AppleDB/__db.001\n"
        "7f0000002000-7f0000003000 r-xp 00000000 08:01 12 /usr/lib/libdb-5.3.so\n"
        "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n"
        "7ffd10000000-7ffd10001000 rw-p 00000000 00:00 0\n"
        "7f0000004000-7f0000005000 rw-s 00000000 00:2a 78 /tank/x/file with spaces\n"
    )
    assert mapped_paths(maps) == (
        "/tank/cnid/tm/.AppleDB/__db.001",
        "/tank/x/file with spaces",
        "/usr/lib/libdb-5.3.so",
    )


def test_fuser_argv_and_parse() -> None:
    """`fuser -c MOUNT` for a share; pids and their usage letters are read, with or without the stderr prefix."""
    assert fuser_argv("/tank/tm", mount_point=True) == ("fuser", "-c", "/tank/tm")
    assert fuser_argv("/var/db/x/lock", mount_point=False) == ("fuser", "/var/db/x/lock")
    assert parse_fuser("   1234c    5678o\n") == ((1234, "c"), (5678, "o"))
    assert parse_fuser("/tank/tm:     1234co\n") == ((1234, "co"),)
    assert parse_fuser("\n") == ()


def test_ps_argv_and_parse() -> None:
    """`ps -o pid= -o comm= -p LIST`; commands are reduced to the program name."""
    assert ps_argv([30, 4, 30]) == ("ps", "-o", "pid=", "-o", "comm=", "-p", "4,30")
    assert parse_ps("  4 /usr/local/sbin/afpd\n 30 cnid_dbd\nbogus\n") == {4: "afpd", 30: "cnid_dbd"}


def test_wanted_filters_by_program_name() -> None:
    """With names, only those programs count; with None, every process does."""
    assert wanted("/usr/sbin/afpd", frozenset({"afpd"}))
    assert not wanted("bash", frozenset({"afpd"}))
    assert wanted("bash", None)


def test_describe_holders_is_short_and_complete() -> None:
    """The error text lists pid, program, path and how, and shortens long lists."""
    holders = [Holder(pid=i, command="afpd", path="/tank/tm", how="cwd") for i in range(12)]
    text = describe_holders(holders, limit=3)
    assert text.startswith("pid 0 (afpd) holds /tank/tm (cwd); pid 1")
    assert text.endswith("and 9 more")


def test_fuser_scan_command_lines_and_result() -> None:
    """illumos: the share mount point gets `fuser -c`, a plain CNID dir `fuser` per file; ps names the pids."""
    runner = FakeRunner()
    runner.reply(("fuser", "-c", "/tank/tm"), stdout=" 101c 202o\n")
    runner.reply(("fuser", "/var/netatalk/CNID/tm/.AppleDB/lock"), stdout=" 303o\n")
    runner.reply(("ps", "-o", "pid=", "-o", "comm=", "-p", "101,202,303"), stdout="101 afpd\n202 bash\n303 cnid_dbd\n")
    listing = {"/var/netatalk/CNID/tm": [".AppleDB"], "/var/netatalk/CNID/tm/.AppleDB": ["lock", "cnid2.db"]}
    scan = FuserScan(
        names=frozenset({"afpd", "cnid_dbd"}),
        runner=runner,
        is_mount=lambda path: path == "/tank/tm",
        list_dir=lambda path: listing[path],
        exclude_pids=frozenset(),
    )
    found = scan([Path("/tank/tm"), Path("/var/netatalk/CNID/tm")])
    assert runner.calls == [
        ("fuser", "-c", "/tank/tm"),
        ("fuser", "/var/netatalk/CNID/tm"),
        ("fuser", "/var/netatalk/CNID/tm/.AppleDB"),
        ("fuser", "/var/netatalk/CNID/tm/.AppleDB/cnid2.db"),
        ("fuser", "/var/netatalk/CNID/tm/.AppleDB/lock"),
        ("ps", "-o", "pid=", "-o", "comm=", "-p", "101,202,303"),
    ]
    assert [(h.pid, h.command, h.path) for h in found] == [
        (101, "afpd", "/tank/tm"),
        (303, "cnid_dbd", "/var/netatalk/CNID/tm/.AppleDB/lock"),
    ]
