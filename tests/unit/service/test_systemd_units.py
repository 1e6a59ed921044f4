"""The systemd units in share/systemd/ have the keys zfstm relies on and pass `systemd-analyze verify` if present."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from zfstm.errors import EXIT_INTERRUPTED, BusyError
from zfstm.lock import LINUX_RUN_DIR
from zfstm.service.smf_exit import SMF_EXIT_ERR_CONFIG

ROOT = Path(__file__).resolve().parents[3]
UNITS = ROOT / "zfstm" / "share" / "systemd"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")

Unit = dict[str, list[tuple[str, str]]]


def parse_unit(path: Path) -> Unit:
    """Sections -> ordered (key, value) pairs; keys may repeat, as systemd allows."""
    sections: Unit = {}
    current: list[tuple[str, str]] | None = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"{path.name}: key outside a section: {line}"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a key=value line: {line}"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit: Unit, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def one(unit: Unit, section: str, key: str) -> str:
    found = values(unit, section, key)
    assert len(found) == 1, f"[{section}] {key}= appears {len(found)} times"
    return found[0]


SERVICES = ["zfstm.service", "zfstm-daemon.service"]


def test_tick_service_is_a_oneshot_zfstm_run() -> None:
    """zfstm.service runs `zfstm run` once per activation."""
    unit = parse_unit(UNITS / "zfstm.service")
    assert one(unit, "Service", "Type") == "oneshot"
    assert one(unit, "Service", "ExecStart").split()[1] == "run"
    assert str(BusyError.exit_code) in one(unit, "Service", "SuccessExitStatus").split()


def test_timer_is_persistent_and_randomized() -> None:
    """zfstm.timer: OnCalendar, Persistent=true, RandomizedDelaySec, targets zfstm.service, wanted by timers."""
    unit = parse_unit(UNITS / "zfstm.timer")
    assert one(unit, "Timer", "OnCalendar")
    assert one(unit, "Timer", "Persistent") == "true"
    assert one(unit, "Timer", "RandomizedDelaySec")
    assert one(unit, "Timer", "Unit") == "zfstm.service"
    assert one(unit, "Install", "WantedBy") == "timers.target"


def test_daemon_service_contract() -> None:
    """zfstm-daemon.service: 96 stops restarts (config), 130 (SIGTERM) is success, and it conflicts with the timer."""
    unit = parse_unit(UNITS / "zfstm-daemon.service")
    assert one(unit, "Service", "ExecStart").split()[1] == "daemon"
    assert str(SMF_EXIT_ERR_CONFIG) in one(unit, "Service", "RestartPreventExitStatus").split()
    assert str(EXIT_INTERRUPTED) in one(unit, "Service", "SuccessExitStatus").split()
    assert "zfstm.timer" in one(unit, "Unit", "Conflicts").split()
    assert one(unit, "Service", "KillMode") == "mixed"  # the tick's zfs child finishes (tests/integration/test_faults)


@pytest.mark.parametrize("name", SERVICES)
def test_services_need_zfs_and_keep_dev_zfs(name: str) -> None:
    """Skipped without the zfs module; hardened, but /dev/zfs stays reachable (no PrivateDevices)."""
    unit = parse_unit(UNITS / name)
    assert one(unit, "Unit", "ConditionPathIsDirectory") == "/sys/module/zfs"
    assert "/dev/zfs rw" in values(unit, "Service", "DeviceAllow")
    assert one(unit, "Service", "DevicePolicy") == "closed"
    assert values(unit, "Service", "PrivateDevices") in ([], ["no"])
    assert one(unit, "Service", "ProtectSystem") == "strict"
    assert one(unit, "Service", "NoNewPrivileges") == "yes"
    assert one(unit, "Service", "User") not in ("root", "0")


@pytest.mark.parametrize("name", SERVICES)
def test_services_share_the_lock_directory(name: str) -> None:
    """Both services lock in zfstm's Linux run dir, which systemd creates and never removes (locks stay valid)."""
    unit = parse_unit(UNITS / name)
    assert one(unit, "Service", "RuntimeDirectory") == LINUX_RUN_DIR.name
    assert one(unit, "Service", "RuntimeDirectoryPreserve") == "yes"
    assert f"ZFSTM_RUN_DIR={LINUX_RUN_DIR}" in values(unit, "Service", "Environment")


@needs_analyze
def test_systemd_analyze_verify() -> None:
    """`systemd-analyze verify` reports nothing except that zfstm itself is not installed on this host."""
    assert ANALYZE is not None
    files = [str(UNITS / name) for name in ("zfstm.service", "zfstm.timer", "zfstm-daemon.service")]
    done = subprocess.run([ANALYZE, "verify", "--man=no", *files], capture_output=True, text=True, check=False)
    lines = (done.stdout + done.stderr).splitlines()
    binary = one(parse_unit(UNITS / "zfstm.service"), "Service", "ExecStart").split()[0]
    missing = f"Command {binary} is not executable"
    complaints = [line for line in lines if line.strip() and not (not Path(binary).exists() and missing in line)]
    assert complaints == [], "\n".join(lines)


@needs_analyze
def test_oncalendar_expression_is_valid() -> None:
    """The timer's OnCalendar expression parses (`systemd-analyze calendar`)."""
    assert ANALYZE is not None
    expression = one(parse_unit(UNITS / "zfstm.timer"), "Timer", "OnCalendar")
    done = subprocess.run([ANALYZE, "calendar", expression], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@needs_analyze
@pytest.mark.parametrize("name", SERVICES)
def test_hardening_exposure_stays_low(name: str) -> None:
    """`systemd-analyze security --offline=yes` rates each service at most 2.5 (1.9 "OK" on systemd 252)."""
    assert ANALYZE is not None
    done = subprocess.run(
        [ANALYZE, "security", "--offline=yes", "--no-pager", str(UNITS / name)],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout + done.stderr)
    if match is None:
        pytest.skip(f"this systemd-analyze cannot rate unit files offline: {done.stderr.strip()[:200]}")
    assert float(match.group(1)) <= 2.5, done.stdout


@pytest.mark.parametrize("name", SERVICES)
def test_services_order_after_either_file_server(name: str) -> None:
    """Ordering only (After=, no Wants=): after netatalk and after smbd for Samba shares, whichever is installed."""
    unit = parse_unit(UNITS / name)
    after = one(unit, "Unit", "After").split()
    assert {"netatalk.service", "smbd.service"} <= set(after)
    assert not values(unit, "Unit", "Wants") and not values(unit, "Unit", "Requires")


@pytest.mark.parametrize("name", SERVICES)
def test_ip_sockets_are_off_with_the_drop_in_that_allows_them_written_next_to_it(name: str) -> None:
    """The ssh prefix and `--syslog udp:` need AF_INET/AF_INET6; the unit says exactly how to allow them."""
    unit = parse_unit(UNITS / name)
    assert one(unit, "Service", "RestrictAddressFamilies") == "AF_UNIX"
    assert "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" in (UNITS / name).read_text()


def test_daemon_unit_comment_states_what_the_daemon_exits_on_sigterm() -> None:
    """`zfstm daemon` exits 0 (SMF_EXIT_OK) on SIGTERM; the comment must not claim 130."""
    from zfstm.service.smf_exit import SMF_EXIT_OK

    text = (UNITS / "zfstm-daemon.service").read_text()
    assert f"finishes its running tick and exits {SMF_EXIT_OK}" in text
    assert "turns SIGTERM into exit status 130" not in text
