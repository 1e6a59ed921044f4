"""Every SMF manifest in share/smf/ validates against illumos' service_bundle DTD and keeps zfstm's service contract.

The DTD is not vendored: it is found at ``<checkout>/../shared/smf/service_bundle.dtd.1`` (CI keeps shared/ beside
the checkout) or at ``$ZFSTM_SMF_DTD``. A missing DTD fails the test, except inside the testbed VM, which mounts
only the checkout.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from zfstm.errors import EXIT_INTERRUPTED
from zfstm.lock import SUNOS_RUN_DIR
from zfstm.service.smf_exit import SMF_EXIT_ERR_CONFIG

etree: Any = pytest.importorskip("lxml.etree")

ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = sorted((ROOT / "zfstm" / "share" / "smf").glob("*.xml"))
ZFSTM_MANIFEST = ROOT / "zfstm" / "share" / "smf" / "zfstm.xml"


def _dtd_path() -> Path:
    configured = os.environ.get("ZFSTM_SMF_DTD")
    path = Path(configured) if configured else ROOT.parent / "shared" / "smf" / "service_bundle.dtd.1"
    if not path.is_file():
        if os.environ.get("ZFSTM_TESTBED"):
            pytest.skip(f"SMF DTD not available in the testbed ({path})")
        pytest.fail(f"SMF DTD not found at {path}: put shared/ beside the checkout or set ZFSTM_SMF_DTD")
    return path


@pytest.fixture(scope="module")
def dtd() -> Any:
    """The illumos service_bundle DTD, parsed."""
    return etree.DTD(str(_dtd_path()))


def _parse(data: bytes) -> Any:
    parser = etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False)
    return etree.fromstring(data, parser).getroottree()


def _errors(dtd: Any, doc: Any) -> str:
    dtd.validate(doc)
    return str(dtd.error_log.filter_from_errors())


def test_there_is_a_manifest() -> None:
    """zfstm/share/smf/ holds zfstm's manifest."""
    assert ZFSTM_MANIFEST in MANIFESTS


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_manifest_validates_against_the_dtd(dtd: Any, manifest: Path) -> None:
    """Each manifest is valid per illumos' service_bundle.dtd.1 (what `svccfg validate` checks)."""
    doc = _parse(manifest.read_bytes())
    assert dtd.validate(doc), _errors(dtd, doc)


def test_periodic_method_is_rejected(dtd: Any) -> None:
    """A Solaris 11 <periodic_method> (absent from illumos) makes the manifest invalid: the validator has teeth."""
    text = ZFSTM_MANIFEST.read_text()
    anchor = '<exec_method type="method" name="stop"'
    assert anchor in text
    bad = text.replace(
        anchor, '<periodic_method period="900" exec="/opt/zfstm/bin/zfstm run" timeout_seconds="0"/>\n' + anchor
    )
    doc = _parse(bad.encode())
    assert not dtd.validate(doc)
    assert "periodic_method" in _errors(dtd, doc)


def test_exec_method_without_timeout_is_rejected(dtd: Any) -> None:
    """An exec_method without timeout_seconds is invalid (the DTD requires it)."""
    bad = ZFSTM_MANIFEST.read_text().replace(' timeout_seconds="10"', "", 1)
    assert not dtd.validate(_parse(bad.encode()))


@pytest.fixture(scope="module")
def service() -> Any:
    """The application/zfstm <service> element of zfstm/share/smf/zfstm.xml."""
    return _parse(ZFSTM_MANIFEST.read_bytes()).getroot().find("service[@name='application/zfstm']")


@pytest.fixture(scope="module")
def account() -> Any:
    """The application/zfstm-account <service> element of zfstm/share/smf/zfstm.xml."""
    return _parse(ZFSTM_MANIFEST.read_bytes()).getroot().find("service[@name='application/zfstm-account']")


def test_fmri_and_default_instance(service: Any) -> None:
    """The service is svc:/application/zfstm with a default instance created disabled."""
    assert service.get("name") == "application/zfstm"
    assert service.find("create_default_instance").get("enabled") == "false"


def test_runs_the_daemon_in_the_foreground_with_the_config_property(service: Any) -> None:
    """start runs `zfstm daemon --config %{config/path}` as a child-duration service (no periodic method)."""
    start = service.find("exec_method[@name='start']")
    assert start.get("exec").split()[1:] == ["daemon", "--config", "%{config/path}"]
    duration = service.find("property_group[@name='startd']/propval[@name='duration']")
    assert duration.get("value") == "child"
    assert service.find("exec_method[@name='stop']").get("exec") == ":kill"


def test_config_path_default_is_persistent_on_smartos(service: Any) -> None:
    """config/path is an astring under /opt (SmartOS keeps /opt; / and /etc are a ramdisk)."""
    prop = service.find("property_group[@name='config']/propval[@name='path']")
    assert prop.get("type") == "astring"
    assert prop.get("value").startswith("/opt/")


def test_runs_as_an_unprivileged_user(service: Any) -> None:
    """The method credential names a non-root user; ZFS rights come from delegation."""
    credential = service.find("method_context/method_credential")
    assert credential.get("user") not in ("root", "0")
    assert credential.get("privileges", "basic").startswith("basic")


def test_account_service_recreates_the_user_at_boot(service: Any, account: Any) -> None:
    """A transient root service recreates the method credential's user with a fixed uid, and owns the lock dir."""
    assert account.find("property_group[@name='startd']/propval[@name='duration']").get("value") == "transient"
    assert account.find("method_context") is None  # root: it runs useradd
    props = {p.get("name"): p for p in account.findall("property_group[@name='account']/propval")}
    credential = service.find("method_context/method_credential")
    assert props["user"].get("value") == credential.get("user")
    assert props["group"].get("value") == credential.get("group")
    assert props["uid"].get("type") == "count" and props["gid"].get("type") == "count"
    assert Path(props["home"].get("value")) / "run" == SUNOS_RUN_DIR
    start = account.find("exec_method[@name='start']").get("exec").split()
    assert Path(start[0]).name == "zfstm-account" and (ROOT / "zfstm" / "share" / "smf" / "zfstm-account").is_file()
    assert start[1:] == [f"%{{account/{k}}}" for k in ("user", "uid", "group", "gid", "home")]
    dep = service.find("dependency[@name='account']")
    assert dep.get("grouping") == "optional_all"
    assert dep.find("service_fmri").get("value") == "svc:/application/zfstm-account"


def test_depends_on_local_filesystems_and_optionally_netatalk(service: Any) -> None:
    """filesystem/local is required; netatalk (upstream or pkgsrc) is optional and never restarts zfstm."""
    deps = {dep.get("name"): dep for dep in service.findall("dependency")}
    local = deps["filesystem-local"]
    assert local.get("grouping") == "require_all"
    assert [f.get("value") for f in local.findall("service_fmri")] == ["svc:/system/filesystem/local"]
    netatalk = deps["netatalk"]
    assert (netatalk.get("grouping"), netatalk.get("restart_on")) == ("optional_all", "none")
    assert {f.get("value") for f in netatalk.findall("service_fmri")} == {
        "svc:/network/netatalk",
        "svc:/pkgsrc/netatalk",
    }


def test_template_documents_the_service(service: Any) -> None:
    """A template gives a common name, documentation, and describes config/path."""
    template = service.find("template")
    assert template.find("common_name/loctext").text.strip()
    manpage = template.find("documentation/manpage[@title='zfstm']")
    assert (manpage.get("section"), manpage.get("manpath")) == ("1", "/opt/zfstm/share/man")
    assert template.find("pg_pattern[@name='config']/prop_pattern[@name='path']").get("required") == "true"
    assert service.find("stability").get("value") == "Evolving"


def test_exit_code_contract_is_stated_in_the_manifest() -> None:
    """The manifest's comments state the same maintenance code the daemon contract uses."""
    text = ZFSTM_MANIFEST.read_text()
    assert f"Exit {SMF_EXIT_ERR_CONFIG}" in text
    assert EXIT_INTERRUPTED == 130  # the systemd units rely on it too (test_systemd_units)


def test_method_path_reaches_pkgsrc_in_the_global_zone_and_in_zones(service: Any) -> None:
    """pkgsrc-tools lives in /opt/tools in the SmartOS global zone, pkgsrc in /opt/local in zones."""
    envvar = service.find("method_context/method_environment/envvar[@name='PATH']")
    entries = envvar.get("value").split(":")
    assert {"/opt/local/bin", "/opt/tools/bin", "/usr/sbin"} <= set(entries)
