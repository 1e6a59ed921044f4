"""netatalk's version line (zfstm.netatalk.version): tells 3.x from 4.x."""

from __future__ import annotations

from zfstm.netatalk.version import NetatalkVersion, parse_netatalk_version


def test_afpd_and_asip_status_version_lines() -> None:
    v4 = parse_netatalk_version("afpd 4.2.3 - Apple Filing Protocol (AFP) daemon of Netatalk\n\nmore")
    v3 = parse_netatalk_version("afpd 3.1.12 - Apple Filing Protocol (AFP) daemon of Netatalk\n")
    assert (v4, v3) == (NetatalkVersion(4, 2, 3), NetatalkVersion(3, 1, 12))
    assert v4 is not None and v3 is not None and v3 < v4
    assert v4.lowercases_volume_names and not v3.lowercases_volume_names
    assert parse_netatalk_version("Machine type: Netatalk4.2.3") == NetatalkVersion(4, 2, 3)
    assert str(parse_netatalk_version("netatalk 3.1")) == "3.1.0"


def test_no_version_line() -> None:
    assert parse_netatalk_version("") is None
    assert parse_netatalk_version("daemon of Netatalk\n3.1 is nice") is None
