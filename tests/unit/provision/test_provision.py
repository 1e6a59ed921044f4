"""The pure provisioning plan: dataset properties, stanzas, and never overwriting a configuration section."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zfstm.errors import UsageError
from zfstm.netatalk.afpconf import parse_ini, volumes_from
from zfstm.provision import (
    ProvisionRequest,
    config_change,
    default_cnid_dataset,
    plan_provision,
    share_properties,
)
from zfstm.zfs import DatasetName

G = 1024**3
MOUNTS = {"tank/tm": "/tank/tm", "tank/cnid": "/tank/cnid"}


def request(**kw: object) -> ProvisionRequest:
    base: dict[str, object] = {
        "dataset": DatasetName("tank/tm"), "share": "TM", "size_bytes": 500 * G, "server": "netatalk",
        "platform": "linux",
    }  # fmt: skip
    base.update(kw)
    return ProvisionRequest(**base)  # type: ignore[arg-type]


def test_linux_netatalk_plan_creates_share_and_cnid_datasets() -> None:
    """On Linux the share gets lz4, atime=off, xattr=sa and a refquota; the CNID dataset sits next to it."""
    plan = plan_provision(request(), existing=frozenset(), mountpoints=MOUNTS, force=False)
    share, cnid = plan.datasets
    assert dict(share.properties) == {"compression": "lz4", "atime": "off", "xattr": "sa", "refquota": "512000M"}
    assert cnid.name == DatasetName("tank/cnid") and cnid.action == "create"
    assert plan.db_dir == "/tank/cnid/TM/"
    assert "time machine = yes" in plan.stanza and "vol size limit = 512000" in plan.stanza
    assert "cnid dev" not in plan.stanza


def test_illumos_stanza_says_cnid_dev_no_and_skips_xattr_sa() -> None:
    """illumos has no xattr=sa; its stanza turns off cnid dev so a changed st_dev keeps the CNIDs."""
    plan = plan_provision(request(platform="illumos"), existing=frozenset(), mountpoints=MOUNTS, force=False)
    assert "xattr" not in dict(plan.datasets[0].properties)
    assert "cnid dev = no" in plan.stanza
    assert any("cnid dev = no" in line for line in plan.advice)


def test_stanza_parses_back_as_a_time_machine_volume_on_the_cnid_dataset() -> None:
    """netatalk's own reading of the stanza (our afp.conf model) sees Time Machine, the dbpath and the limit."""
    plan = plan_provision(request(), existing=frozenset(), mountpoints=MOUNTS, force=False)
    volume = volumes_from(parse_ini("[Global]\n" + plan.stanza, "afp.conf"), hostname="h").volume("TM")
    assert volume is not None
    assert volume.time_machine and volume.path == "/tank/tm" and volume.vol_size_limit_mib == 512000
    assert volume.db_dir.startswith("/tank/cnid/TM")


def test_samba_plan_has_fruit_and_no_cnid_dataset() -> None:
    """A Samba share needs vfs_fruit's Time Machine options and no CNID dataset."""
    plan = plan_provision(request(server="samba"), existing=frozenset(), mountpoints=MOUNTS, force=False)
    assert len(plan.datasets) == 1 and plan.db_dir is None
    assert "fruit:time machine = yes" in plan.stanza and "fruit:time machine max size = 512000M" in plan.stanza
    assert "vfs objects = catia fruit streams_xattr" in plan.stanza


def test_existing_share_dataset_is_refused_without_force() -> None:
    """An existing share dataset is refused; with --force only its properties are set."""
    with pytest.raises(UsageError, match="already exists"):
        plan_provision(request(), existing=frozenset({"tank/tm"}), mountpoints=MOUNTS, force=False)
    plan = plan_provision(request(), existing=frozenset({"tank/tm"}), mountpoints=MOUNTS, force=True)
    assert plan.datasets[0].action == "set properties"


def test_existing_cnid_dataset_is_reused() -> None:
    """Several shares share one CNID dataset: an existing one is reused untouched."""
    plan = plan_provision(request(), existing=frozenset({"tank/cnid"}), mountpoints=MOUNTS, force=False)
    assert plan.datasets[1].action == "reuse"


def test_pool_root_has_no_default_cnid_dataset() -> None:
    """A pool's root dataset is not a share: there is no sibling for the CNID dataset."""
    with pytest.raises(UsageError):
        default_cnid_dataset(DatasetName("tank"))


def test_bad_share_names_are_refused() -> None:
    """Names netatalk cannot use as a section are refused before anything is created."""
    for bad in ("", "a]b", "x" * 28, " lead"):
        with pytest.raises(UsageError):
            plan_provision(request(share=bad), existing=frozenset(), mountpoints=MOUNTS, force=False)


@given(st.integers(min_value=0, max_value=2**50))
def test_refquota_is_whole_mib_never_zero_and_never_more_than_asked(size: int) -> None:
    """The refquota is size rounded down to MiB, at least 1M (zfs would read 0 as 'none')."""
    value = dict(share_properties(size, "linux"))["refquota"]
    mib = int(value.removesuffix("M"))
    assert mib >= 1 and (mib * 1024 * 1024 <= size or mib == 1)


STANZA = "[TM]\npath = /tank/tm\ntime machine = yes\n"


def test_config_is_created_when_missing() -> None:
    """No file: create it with the stanza."""
    change = config_change(None, STANZA, "TM", "afp.conf", force=False)
    assert change.action == "create" and change.text == STANZA


def test_config_append_keeps_existing_text() -> None:
    """A file without the section gets the stanza appended, everything else byte for byte."""
    existing = "; mine\n[Global]\nlog level = default:info"
    change = config_change(existing, STANZA, "TM", "afp.conf", force=False)
    assert change.action == "append" and change.text.startswith(existing + "\n") and change.text.endswith(STANZA)


def test_existing_section_is_never_overwritten_without_force() -> None:
    """A section of the same name (any case) is refused unless --force, which replaces only that section."""
    existing = "[Global]\nx = 1\n[tm]\npath = /old\n[Other]\npath = /o\n"
    with pytest.raises(UsageError, match="refusing to overwrite"):
        config_change(existing, STANZA, "TM", "afp.conf", force=False)
    change = config_change(existing, STANZA, "TM", "afp.conf", force=True)
    assert change.action == "replace"
    assert change.text == "[Global]\nx = 1\n" + STANZA + "\n[Other]\npath = /o\n"


def test_identical_section_is_unchanged() -> None:
    """Provisioning twice with the same stanza leaves the file alone."""
    change = config_change("[Global]\n" + STANZA, STANZA, "TM", "afp.conf", force=False)
    assert change.action == "unchanged"


def test_both_plans_say_how_to_snapshot_at_the_session_end() -> None:
    netatalk = plan_provision(request(), existing=frozenset(), mountpoints=MOUNTS, force=False)
    assert any("fce version = 2" in line and "fce_listener" in line for line in netatalk.advice)
    samba = plan_provision(request(server="samba"), existing=frozenset(), mountpoints=MOUNTS, force=False)
    assert any("root postexec = zfstm notify" in line for line in samba.advice)
