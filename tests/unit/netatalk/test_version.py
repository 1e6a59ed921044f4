"""Where a volume's CNID database is, as the installed netatalk derives it: version (case of `$v`), state directory,
`..` and symlinks resolved, and whether cnid2.db is really there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.unit.rollback.world import facts_of, make_world
from zfstm.config.load import parse_config
from zfstm.netatalk.afpconf import DEFAULT_STATEDIR, parse_afp_conf
from zfstm.netatalk.version import NetatalkBuild, derivation, parse_afpd_version, resolve_db_dir
from zfstm.rollback.facts import cnid_facts

#: The head and the paths of `afpd -V` from Debian trixie's netatalk 4.2.3 (testbed, 2026-12-03).
AFPD_42 = """afpd 4.2.3 - Apple Filing Protocol (AFP) daemon of Netatalk

afpd has been compiled with support for these features:

          AFP versions:\t1.1 2.0 2.1 2.2 3.0 3.1 3.2 3.3 3.4
         CNID backends:\tdbd last mysql

              afp.conf:\t/etc/netatalk/afp.conf
       state directory:\t/var/lib/netatalk/
"""


def test_afpd_version_and_paths_are_read() -> None:
    build = parse_afpd_version(AFPD_42)
    assert build == NetatalkBuild((4, 2, 3), "/var/lib/netatalk/", "/etc/netatalk/afp.conf")
    assert build.lower_volume_names
    old = parse_afpd_version(
        "afpd 3.1.12 - Apple Filing Protocol (AFP) daemon\n  state directory:\t/var/db/netatalk/\n"
    )
    assert old is not None and not old.lower_volume_names and old.statedir == "/var/db/netatalk/"
    assert parse_afpd_version("bash: afpd: command not found") is None


CONF = "[Global]\nvol dbpath = /tank/cnid/$v/\n\n[TM]\npath = /tank/tm\ntime machine = yes\n"


@pytest.mark.parametrize(
    ("build", "db_dir"),
    [
        (NetatalkBuild((4, 2, 3)), "/tank/cnid/tm/.AppleDB"),
        (NetatalkBuild((3, 1, 12)), "/tank/cnid/TM/.AppleDB"),  # seen: 3.1 keeps the section's case in $v
    ],
)
def test_dollar_v_follows_the_installed_version(build: NetatalkBuild, db_dir: str) -> None:
    statedir, lower, why = derivation(build, DEFAULT_STATEDIR)
    conf = parse_afp_conf(CONF, "afp.conf", statedir=statedir, lower_names=lower)
    assert conf.volumes[0].db_dir == db_dir and build.text in why


def test_default_place_uses_the_builds_state_directory() -> None:
    """pkgsrc builds netatalk with its state under /var/db/netatalk/: the default database is there."""
    statedir, lower, _ = derivation(NetatalkBuild((3, 1, 12), "/var/db/netatalk/"), DEFAULT_STATEDIR)
    conf = parse_afp_conf("[TM]\npath = /tank/tm\n", "afp.conf", statedir=statedir, lower_names=lower)
    assert conf.volumes[0].db_dir == "/var/db/netatalk/CNID/TM/.AppleDB"
    assert "assumed netatalk 4" in derivation(None, DEFAULT_STATEDIR)[2]


def test_dotdot_and_symlinks_are_resolved_before_the_strategy_is_chosen(tmp_path: Path) -> None:
    """A `vol dbpath` that leaves the CNID dataset through `..` or a symlink is not planned as paired."""
    assert resolve_db_dir("/tank/cnid/../../var/lib/netatalk/CNID/tm/.AppleDB") == os.path.realpath(
        "/var/lib/netatalk/CNID/tm/.AppleDB"
    )
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    assert resolve_db_dir(str(tmp_path / "link/.AppleDB")) == str(tmp_path / "elsewhere/.AppleDB")
    facts = facts_of(make_world())
    config = parse_config('[[targets]]\nname = "tm"\ndataset = "tank/tm"\ncnid_dataset = "tank/cnid"\n', "zfstm.toml")
    text = "[Global]\nvol dbpath = /tank/cnid/../../var/lib/netatalk/CNID/$v/\n\n[TM]\npath = /tank/tm\n"
    conf = parse_afp_conf(text, "afp.conf")
    found = cnid_facts(
        conf, config, config.targets[0], facts.data, facts.cnid_dataset, platform="linux", is_file=lambda _p: True
    )
    assert found is not None and not found.db_dir.startswith("/tank/cnid/") and "resolves to" in found.derived
    missing = cnid_facts(
        parse_afp_conf(CONF, "afp.conf"), config, config.targets[0], facts.data, facts.cnid_dataset,
        platform="linux", is_file=lambda _p: False,
    )  # fmt: skip
    assert missing is not None and not missing.db_exists
