"""`zfstm cnid migrate`'s afp.conf edit: one line of the volume's section set, every other byte kept."""

from __future__ import annotations

import pytest

from zfstm.errors import AfpConfError
from zfstm.netatalk.afpconf import parse_afp_conf
from zfstm.netatalk.migrate import MigrationPlan, set_section_option

CONF = (
    "; served since 2015\r\n"  # a CR stays part of its line: nothing but the one line changes
    "[Global]\n"
    "vol dbpath = /var/lib/netatalk/CNID/$v/   # the old place\n"
    "\n"
    "[TM]\n"
    "path = /tank/tm\n"
    "time machine = yes\n"
    "\n"
    "[Other]\n"
    "path = /tank/other\n"
)


def test_a_line_is_added_to_the_section_and_nothing_else_changes() -> None:
    edited = set_section_option(CONF, "afp.conf", "tm", "vol dbpath", "/tank/tm-cnid/")
    assert edited == CONF.replace("[TM]\n", "[TM]\nvol dbpath = /tank/tm-cnid/\n")
    volumes = {v.name: v for v in parse_afp_conf(edited, "afp.conf").volumes}
    assert volumes["tm"].db_dir == "/tank/tm-cnid/.AppleDB"
    assert volumes["other"].db_dir == "/var/lib/netatalk/CNID/other/.AppleDB"


def test_an_existing_option_is_replaced_and_repeats_are_folded() -> None:
    text = "[TM]\npath = /tank/tm\nVol  DBPath = /a/\nvol dbpath = /b/\n[X]\nvol dbpath = /x/\n"
    assert set_section_option(text, "afp.conf", "TM", "vol dbpath", "/c/") == (
        "[TM]\npath = /tank/tm\nvol dbpath = /c/\n[X]\nvol dbpath = /x/\n"
    )


def test_refusals_name_the_file() -> None:
    with pytest.raises(AfpConfError, match=r"afp\.conf: no \[Gone\] section"):
        set_section_option(CONF, "afp.conf", "Gone", "vol dbpath", "/c/")
    with pytest.raises(AfpConfError, match=r"afp\.conf:2: `vol dbpath` continues"):
        set_section_option("[TM]\nvol dbpath = /a/\\\n  b/\n", "afp.conf", "TM", "vol dbpath", "/c/")


def test_the_plan_says_every_step_and_what_is_left_to_the_administrator() -> None:
    plan = MigrationPlan("tm", "tm", "TM", "/etc/netatalk/afp.conf", "/tank/tm", "/var/lib/netatalk/CNID/tm/.AppleDB",
                         "tank/tm-cnid", True, "/tank/tm-cnid")  # fmt: skip
    assert plan.new_db_dir == "/tank/tm-cnid/.AppleDB" and plan.dbpath == "/tank/tm-cnid/"
    text = plan.text()
    assert "create dataset tank/tm-cnid" in text and 'cnid_dataset = "tank/tm-cnid"' in text
    assert plan.to_json()["steps"] == plan.steps()
