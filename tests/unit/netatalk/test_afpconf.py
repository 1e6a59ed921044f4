"""afp.conf parsing, variable expansion and volume model (zfstm.netatalk.afpconf)."""

from __future__ import annotations

import pytest

from zfstm.errors import AfpConfError
from zfstm.netatalk.afpconf import (
    expand,
    parse_afp_conf,
    parse_bool,
    parse_ini,
    volumes_on_dataset,
    volumes_with_database_on,
)

TESTBED_CONF = """\
[Global]
uam list = uams_clrtxt.so uams_dhx2.so
vol dbpath = /tank/cnid/$v/

[TM]
path = /tank/tm
time machine = yes
"""


def test_testbed_config_puts_the_database_under_the_lowercased_volume_name() -> None:
    """With `vol dbpath = /tank/cnid/$v/` and [TM], the database is /tank/cnid/tm/.AppleDB (seen in netatalk 4.2.3)."""
    (vol,) = parse_afp_conf(TESTBED_CONF, "afp.conf").volumes
    assert vol.name == "tm" and vol.section == "TM"
    assert vol.path == "/tank/tm"
    assert vol.db_dir == "/tank/cnid/tm/.AppleDB"
    assert vol.time_machine and vol.cnid_dev and vol.cnid_scheme == "dbd"
    assert vol.vol_size_limit_mib is None


def test_default_database_lives_in_the_state_directory_with_slashes_as_colons() -> None:
    """Without vol dbpath the database is <statedir>/CNID/<name with / as :>/.AppleDB."""
    conf = parse_afp_conf("[a/b]\npath = /srv/x\n", "f", statedir="/var/lib/netatalk/")
    assert conf.volumes[0].db_dir == "/var/lib/netatalk/CNID/a:b/.AppleDB"


def test_global_dbpath_without_variable_gets_the_volume_name_appended() -> None:
    """A global vol dbpath without '$' means <it>/<volume>/ (netatalk's pre-3.1.1 behaviour kept)."""
    conf = parse_afp_conf("[Global]\nvol dbpath = /db\n[Vol]\npath = /srv/v\n", "f")
    assert conf.volumes[0].db_dir == "/db/vol/.AppleDB"


def test_volume_dbpath_beats_global_and_dbnest_beats_both() -> None:
    """A volume's own vol dbpath wins over the global one; global vol dbnest puts the db inside the volume."""
    text = "[Global]\nvol dbpath = /db/$v\n[V]\npath = /srv/v\nvol dbpath = /own/$v/x\n"
    assert parse_afp_conf(text, "f").volumes[0].db_dir == "/own/v/x/.AppleDB"
    nested = parse_afp_conf(text.replace("[Global]\n", "[Global]\nvol dbnest = yes\n"), "f").volumes[0]
    assert nested.db_dir == "/srv/v/.AppleDB" and nested.db_nested


def test_options_come_from_the_volume_then_its_preset() -> None:
    """cnid dev, time machine and vol size limit are read from the volume, else from its vol preset section."""
    text = (
        "[Global]\nvol preset = tmdefaults\n"
        "[tmdefaults]\ntime machine = yes\ncnid dev = no\nvol size limit = 1000 ; MiB\n"
        "[A]\npath = /a\n"
        "[B]\npath = /b\ncnid dev = yes\nvol size limit = 20\n"
    )
    conf = parse_afp_conf(text, "f")
    a, b = conf.volume("a"), conf.volume("b")
    assert a is not None and b is not None
    assert (a.time_machine, a.cnid_dev, a.vol_size_limit_mib) == (True, False, 1000)
    assert (b.time_machine, b.cnid_dev, b.vol_size_limit_mib) == (True, True, 20)
    assert [v.name for v in conf.volumes] == ["a", "b"]  # the preset has no path: not a volume


def test_syntax_comments_quotes_continuations_and_case() -> None:
    """Comments, inline ';'/'#' after unquoted values, quoted values, backslash continuations and key case."""
    text = (
        "; comment\n# another\n[Global]\n  Vol DBPath = '/db;x/$v'  \n"
        '[V]\npath = /srv/\\\nv  # trailing comment\nTime Machine = "yes"\n'
    )
    doc = parse_ini(text, "f")
    assert doc.get("GLOBAL", "vol dbpath") == "/db;x/$v"
    assert doc.get("v", "path") == "/srv/v"
    (vol,) = parse_afp_conf(text, "f").volumes
    assert vol.path == "/srv/v" and vol.time_machine and vol.db_dir == "/db;x/v/.AppleDB"


def test_include_splices_a_file_in_place() -> None:
    """include = FILE reads the file through the callback and parses it as if typed in place."""
    files = {"/etc/netatalk/extra.conf": "[Extra]\npath = /srv/extra\n"}
    conf = parse_afp_conf("[Global]\ninclude = /etc/netatalk/extra.conf\n", "main", read_include=files.__getitem__)
    assert [v.name for v in conf.volumes] == ["extra"]
    assert conf.volumes[0].file == "/etc/netatalk/extra.conf" and conf.volumes[0].line == 2


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[Global]\nthis line has no equals\n", "afp.conf:2"),
        ("[Global\n", "afp.conf:1"),
        ("[a:b]\npath = /x\n", "afp.conf:1"),
        ("[V]\npath = relative/dir\n", "afp.conf:2"),
        ("[Global]\ninclude = /nowhere\n", "afp.conf:2"),
    ],
)
def test_errors_name_file_and_line(text: str, where: str) -> None:
    """Syntax errors, relative paths and unreadable includes raise AfpConfError naming file:line."""
    with pytest.raises(AfpConfError, match=where):
        parse_afp_conf(text, "afp.conf")


def test_variables() -> None:
    """$v, $b, $d, $h/$s and $$ expand server-side; $u only with a user; session variables are reported."""
    assert expand("/db/$v/$$", path=None, volname="tm", hostname="h").text == "/db/tm/$"
    assert expand("$b-$d-$s-$h", path="/srv/tm", volname=None, hostname="nas").text == "tm-/srv/tm-nas-nas"
    assert expand("$v", path="/srv/tm", volname=None, hostname="h").text == "tm"
    e = expand("/home/$u/tm", path=None, volname=None, hostname="h")
    assert e.text == "/home/$u/tm" and e.unresolved == ("$u",)
    assert expand("/home/$u/tm", path=None, volname=None, hostname="h", user="ann").text == "/home/ann/tm"
    assert expand("cost $5", path=None, volname=None, hostname="h").text == "cost $5"


def test_user_dependent_volume_is_marked() -> None:
    """A volume whose path needs $u is kept but marked unresolved, so nobody checks the wrong directory."""
    (vol,) = parse_afp_conf("[TM-$u]\npath = /tank/tm/$u\n", "f").volumes
    assert vol.unresolved == ("$u",)


def test_homes_is_not_a_volume() -> None:
    """[Homes] describes per-user volumes; it is noted, not listed."""
    conf = parse_afp_conf("[Homes]\nbasedir regex = /home\n", "f")
    assert conf.volumes == () and conf.has_homes


@pytest.mark.parametrize(
    ("value", "expected"), [("yes", True), ("True", True), ("1", True), ("no", False), ("0", False), ("maybe", None)]
)
def test_booleans_follow_netatalk(value: str, expected: bool | None) -> None:
    """The first character decides; anything else falls back to the default."""
    assert parse_bool(value, default=None) is expected  # type: ignore[arg-type]


def test_map_dataset_mountpoints_to_volumes() -> None:
    """A dataset owns the volumes at or below its mountpoint, except those below a child dataset."""
    text = "[Global]\nvol dbpath = /tank/cnid/$v/\n[A]\npath = /tank/tm\n[B]\npath = /tank/tm/b\n[C]\npath = /tankx\n"
    conf = parse_afp_conf(text, "f")
    assert [v.name for v in volumes_on_dataset(conf, "/tank/tm")] == ["a", "b"]
    assert [v.name for v in volumes_on_dataset(conf, "/tank/tm", ["/tank/tm/b"])] == ["a"]
    assert [v.name for v in volumes_on_dataset(conf, "/tank")] == ["a", "b"]
    assert [v.name for v in volumes_with_database_on(conf, "/tank/cnid")] == ["a", "b", "c"]


def test_volume_name_option_names_the_volume_and_its_database() -> None:
    """`volume name` (netatalk 4) names the volume; `$v` in a dbpath is that name with '/' as ':'."""
    text = "[Global]\nvol dbpath = /db/$v/\n[tm]\npath = /tank/tm\nvolume name = Time Machine/Ann\n"
    (vol,) = parse_afp_conf(text, "f").volumes
    assert vol.name == "Time Machine/Ann" and vol.section == "tm"
    assert vol.db_dir == "/db/Time Machine:Ann/.AppleDB"


def test_netatalk_3_keeps_the_section_case() -> None:
    """With lower_names=False (netatalk 3) [TM] is served as TM and its database follows."""
    (vol,) = parse_afp_conf(TESTBED_CONF, "f", lower_names=False).volumes
    assert vol.name == "TM" and vol.db_dir == "/tank/cnid/TM/.AppleDB"
