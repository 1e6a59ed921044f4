"""Host-side pieces of the guest's netatalk helper: the two builds, paths inside the 3.1 root, account lines."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from zfstm.testbed.guest_netatalk import VERSIONS, Netatalk, _copy_account_lines, netatalk, version_field
from zfstm.testbed.recipe import NETATALK31_ROOT, Recipe


def test_both_builds_are_known_and_only_3_1_is_chrooted() -> None:
    assert VERSIONS == ("4.2", "3.1")
    assert netatalk() == netatalk("4.2") and not netatalk().chrooted
    assert netatalk("4.2").command("dbd", "-h") == ["dbd", "-h"]
    old = netatalk("3.1")
    assert old.chrooted and old.root == Path(NETATALK31_ROOT)
    assert old.command("dbd", "-h") == ["chroot", NETATALK31_ROOT, "dbd", "-h"]
    with pytest.raises(ValueError, match=r"no netatalk 2\.2"):
        netatalk("2.2")


def test_paths_inside_the_root_resolve_their_symlinks_inside_it(tmp_path: Path) -> None:
    """bullseye's /var/lock is a link to /run/lock: the pidfile is the root's run/lock, never the guest's."""
    (tmp_path / "run/lock").mkdir(parents=True)
    (tmp_path / "var").mkdir()
    (tmp_path / "var/lock").symlink_to("/run/lock")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/alt").symlink_to("../run")
    nt = Netatalk("3.1", tmp_path)
    assert nt.outside("/var/lock/netatalk") == tmp_path / "run/lock/netatalk"
    assert nt.outside("/etc/alt/lock") == tmp_path / "run/lock"
    assert nt.outside("/tank/cnid/TM/.AppleDB") == tmp_path / "tank/cnid/TM/.AppleDB"
    assert nt.afp_conf == tmp_path / "etc/netatalk/afp.conf"
    assert Netatalk("4.2").outside("/var/lock/netatalk") == Path("/var/lock/netatalk")


def test_version_field_reads_both_spellings() -> None:
    text = "netatalk 3.1.12 - Netatalk AFP server\n\n   netatalk lock file:\t/var/lock/netatalk\n"
    assert version_field(text, "netatalk lock file") == "/var/lock/netatalk"
    assert version_field(text, "lockfile") is None
    assert version_field("   state directory:\t/var/lib/netatalk/\n", "State Directory") == "/var/lib/netatalk/"


def test_account_lines_replace_the_roots_own(tmp_path: Path) -> None:
    source, target = tmp_path / "guest", tmp_path / "root"
    source.write_text("root:x:0:0::/root:/bin/sh\ntmuser:x:1000:1000::/home/tmuser:/bin/sh\n")
    target.write_text("root:x:0:0::/root:/bin/bash\ntmuser:x:1001:1001::/old:/bin/sh\n")
    _copy_account_lines(source, target, ("tmuser", "zfsuser"))
    assert target.read_text() == "root:x:0:0::/root:/bin/bash\ntmuser:x:1000:1000::/home/tmuser:/bin/sh\n"


def test_the_netatalk_3_1_root_is_part_of_the_recipe_and_cached_on_its_own() -> None:
    recipe = Recipe()
    assert recipe.netatalk31.suite == "bullseye" and "netatalk" in recipe.netatalk31.packages
    changed = attrs.evolve(recipe, netatalk31=attrs.evolve(recipe.netatalk31, packages=("netatalk",)))
    assert changed.key() != recipe.key()
    assert changed.netatalk31.key() != recipe.netatalk31.key()
    assert changed.base_key() == recipe.base_key()
