"""`zfstm service install`: platform detection, the plans for Linux and SMF, and an install into a staging root."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from zfstm.cli.main import main
from zfstm.errors import EnvironmentMissing, UsageError
from zfstm.service.install import (
    HostFacts,
    Platform,
    detect_platform,
    plan_install,
    plan_json,
    plan_text,
    render,
    staged_path,
)
from zfstm.service.shipped import NAMES, generators, read_shipped


@pytest.mark.parametrize(
    ("facts", "platform"),
    [
        (HostFacts("Linux", "#1 SMP PREEMPT_DYNAMIC Debian 6.12.6-1"), Platform.LINUX),
        (HostFacts("SunOS", "joyent_20241031T000847Z", "global"), Platform.SMARTOS_GLOBAL),
        (HostFacts("SunOS", "joyent_20241031T000847Z", "fileserver"), Platform.ILLUMOS),
        (HostFacts("SunOS", "omnios-r151050-4b7a2b4b9a", "global"), Platform.ILLUMOS),
    ],
)
def test_platform_is_detected_from_uname_and_zonename(facts: HostFacts, platform: Platform) -> None:
    assert detect_platform(facts) is platform


def test_an_unknown_kernel_is_refused() -> None:
    with pytest.raises(EnvironmentMissing, match="Darwin"):
        detect_platform(HostFacts("Darwin", "Darwin Kernel Version 24.1.0"))


def paths(plan_files: object) -> list[str]:
    return [write.path for write in plan_files]  # type: ignore[attr-defined]


def test_linux_plan_writes_the_units_and_enables_the_timer() -> None:
    plan = plan_install(Platform.LINUX, zfstm_bin="/opt/zfstm/bin/zfstm", user_exists=False)
    assert paths(plan.files) == [
        "/etc/systemd/system/zfstm.service",
        "/etc/systemd/system/zfstm.timer",
        "/etc/systemd/system/zfstm-daemon.service",
        "/etc/zfstm/zfstm.toml.example",
        "/usr/local/share/bash-completion/completions/zfstm",
        "/usr/local/share/zsh/site-functions/_zfstm",
        "/usr/local/share/man/man1/zfstm.1",
    ]
    assert [c.argv[:2] for c in plan.commands] == [
        ("useradd", "--system"),
        ("systemctl", "daemon-reload"),
        ("systemctl", "enable"),
    ]
    assert plan.commands[-1].argv == ("systemctl", "enable", "zfstm.timer")
    unit = render(plan.files[0], read_shipped("zfstm.service"))
    assert "ExecStart=/opt/zfstm/bin/zfstm run --config /etc/zfstm/zfstm.toml" in unit


def test_linux_plan_without_enable_and_with_an_existing_user() -> None:
    plan = plan_install(Platform.LINUX, enable=False, user_exists=True)
    assert [c.argv for c in plan.commands] == [("systemctl", "daemon-reload")]
    assert all(not write.replace for write in plan.files)  # the shipped /usr/local/bin/zfstm stays


def test_a_staging_root_leaves_the_running_system_alone() -> None:
    plan = plan_install(Platform.LINUX, root="/stage", user_exists=False)
    assert [c.argv for c in plan.commands] == [("systemctl", "--root=/stage", "enable", "zfstm.timer")]
    assert plan_json(plan)["files"][0]["path"] == "/stage/etc/systemd/system/zfstm.service"


def test_smartos_global_zone_plan_uses_opt_custom_smf() -> None:
    plan = plan_install(Platform.SMARTOS_GLOBAL, zfstm_bin="/opt/tools/bin/zfstm")
    assert paths(plan.files)[:3] == [
        "/opt/custom/smf/zfstm.xml",
        "/opt/zfstm/lib/svc/method/zfstm-account",
        "/opt/zfstm/etc/zfstm.toml.example",
    ]
    assert [c.argv for c in plan.commands] == [
        ("svccfg", "validate", "/opt/custom/smf/zfstm.xml"),
        ("svccfg", "import", "/opt/custom/smf/zfstm.xml"),
    ]
    manifest = render(plan.files[0], read_shipped("zfstm.xml"))
    assert 'exec="/opt/tools/bin/zfstm daemon --config %{config/path}"' in manifest
    assert "/opt/zfstm/bin:" in manifest  # PATH is left alone
    assert plan.files[1].mode == 0o555


def test_a_zone_or_other_illumos_imports_from_the_site_manifest_directory() -> None:
    plan = plan_install(Platform.ILLUMOS)
    assert plan.files[0].path == "/var/svc/manifest/site/zfstm.xml"
    assert plan.commands[-1].argv == ("svccfg", "import", "/var/svc/manifest/site/zfstm.xml")
    assert "svcadm enable zfstm" in plan_text(plan)


def test_relative_paths_are_refused() -> None:
    with pytest.raises(UsageError):
        plan_install(Platform.LINUX, root="stage")
    with pytest.raises(UsageError):
        plan_install(Platform.LINUX, zfstm_bin="bin/zfstm")


def test_every_path_the_units_name_is_installed_or_the_administrators() -> None:
    """Documentation= is the man page the plan installs; ExecStart is the zfstm that runs the install."""
    plan = plan_install(Platform.LINUX, zfstm_bin="/venv/bin/zfstm")
    installed = set(paths(plan.files))
    for write in plan.files[:3]:
        text = render(write, read_shipped(write.source))
        assert re.findall(r"^Documentation=(.*)$", text, re.MULTILINE) == ["man:zfstm(1)"]
        assert "/usr/share/doc" not in text
        for exe in re.findall(r"^ExecStart=(\S+)", text, re.MULTILINE):
            assert exe == "/venv/bin/zfstm"
    assert "/usr/local/share/man/man1/zfstm.1" in installed


def test_every_path_the_manifest_names_is_installed() -> None:
    plan = plan_install(Platform.SMARTOS_GLOBAL)
    installed = set(paths(plan.files))
    text = read_shipped("zfstm.xml")
    assert "share/doc" not in text
    for method in re.findall(r'exec="(/opt/zfstm/lib/\S+)', text):
        assert method in installed
    for manpath in re.findall(r'manpath="([^"]+)"', text):
        assert f"{manpath}/man1/zfstm.1" in installed


def test_the_missing_configuration_error_names_a_shipped_file() -> None:
    from zfstm.config.load import load_config
    from zfstm.errors import ConfigError

    with pytest.raises(ConfigError, match=r"zfstm service print example-config") as caught:
        load_config(Path("/nonexistent/zfstm.toml"))
    assert "examples/" not in str(caught.value) and "example-config" in NAMES


def test_generated_files_are_current() -> None:
    """Completion and man page in zfstm/share match the parser (python3 -m zfstm.service.shipped --regenerate)."""
    for name, make in generators().items():
        assert read_shipped(name) == make(), f"{name} is stale: python3 -m zfstm.service.shipped --regenerate"


def test_print_writes_a_shipped_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["service", "print", "example-config"]) == 0
    assert capsys.readouterr().out == read_shipped("example-config")
    assert main(["service", "print"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in NAMES)


def test_dry_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["service", "install", "--dry-run", "--json", "--platform", "linux", "--root", str(tmp_path)])
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert document["platform"] == "linux" and len(document["files"]) == 7
    assert list(tmp_path.iterdir()) == []


def fake_tool(bin_dir: Path, name: str, log: Path) -> None:
    script = bin_dir / name
    script.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\n')
    script.chmod(0o755)


@pytest.fixture
def fake_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "argv.log"
    for tool in ("systemctl", "svccfg", "useradd"):
        fake_tool(bin_dir, tool, log)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_install_into_a_staging_root_on_linux(tmp_path: Path, fake_path: Path) -> None:
    root = tmp_path / "root"
    argv = ["service", "install", "--platform", "linux", "--root", str(root), "--zfstm-bin", "/venv/bin/zfstm"]
    assert main(argv) == 0
    unit = (root / "etc/systemd/system/zfstm.service").read_text()
    assert "ExecStart=/venv/bin/zfstm run" in unit
    assert (root / "etc/zfstm/zfstm.toml.example").read_text() == read_shipped("example-config")
    assert (root / "usr/local/share/man/man1/zfstm.1").read_text() == read_shipped("man")
    assert stat.S_IMODE((root / "etc/systemd/system/zfstm.timer").stat().st_mode) == 0o644
    assert fake_path.read_text().splitlines() == [f"systemctl --root={root} enable zfstm.timer"]


def test_install_into_a_staging_root_on_smartos(tmp_path: Path, fake_path: Path) -> None:
    root = tmp_path / "root"
    assert main(["service", "install", "--platform", "smartos-global", "--root", str(root)]) == 0
    method = root / "opt/zfstm/lib/svc/method/zfstm-account"
    assert stat.S_IMODE(method.stat().st_mode) == 0o555
    assert (root / "opt/custom/smf/zfstm.xml").is_file()
    assert fake_path.read_text().splitlines() == [f"svccfg validate {root}/opt/custom/smf/zfstm.xml"]


def test_a_failing_command_stops_the_install(tmp_path: Path, fake_path: Path) -> None:
    (fake_path.parent / "bin" / "systemctl").write_text("#!/bin/sh\necho 'Failed to enable unit' >&2\nexit 1\n")
    code = main(["service", "install", "--platform", "linux", "--root", str(tmp_path / "root")])
    assert code == 1


def test_staged_path_keeps_the_absolute_path_below_the_root() -> None:
    assert str(staged_path("/", "/etc/x")) == "/etc/x"
    assert str(staged_path("/stage", "/etc/x")) == "/stage/etc/x"


def test_bash_completion_completes_verbs_names_and_choices(tmp_path: Path) -> None:
    import shutil
    import subprocess

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    script = tmp_path / "zfstm.bash"
    script.write_text(read_shipped("bash-completion"))

    def complete(*words: str) -> list[str]:
        line = " ".join(f"'{w}'" for w in words)
        program = f'source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _zfstm; echo "${{COMPREPLY[@]}}"'
        return subprocess.run([bash, "-c", program], capture_output=True, text=True, check=True).stdout.split()

    assert complete("zfstm", "se") == ["service"]
    assert complete("zfstm", "service", "print", "ex") == ["example-config"]
    assert complete("zfstm", "check", "--missing", "") == ["ok", "warning", "critical", "unknown"]
    assert "--prometheus" not in complete("zfstm", "check", "--")


def test_man_page_and_zsh_completion_name_every_verb() -> None:
    from zfstm.cli.main import VERBS

    man, zsh = read_shipped("man"), read_shipped("zsh-completion")
    assert zsh.startswith("#compdef zfstm")
    for verb in VERBS:
        assert f'.SS "zfstm {verb}"' in man
        assert f'"zfstm {verb}")' in zsh
