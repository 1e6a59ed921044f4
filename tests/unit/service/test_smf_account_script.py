"""The SMF account method (share/smf/zfstm-account) creates what is missing, keeps what is there, refuses a wrong uid.

Run with POSIX sh on the host; getent, groupadd, useradd, mkdir, chown and chmod are stubs that log their argv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "zfstm" / "share" / "smf" / "zfstm-account"
ARGS = ["zfstm", "901", "zfstm", "901", "/var/zfstm"]
pytestmark = pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX sh")


def _stubs(tmp_path: Path, passwd: str | None, group: bool) -> Path:
    """A bin dir with a tiny account database in files: getent reads it, groupadd/useradd add to it, all log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log, pw, gr = tmp_path / "log", tmp_path / "passwd", tmp_path / "group"
    if passwd is not None:
        pw.write_text(passwd + "\n")
    if group:
        gr.write_text("zfstm::901:\n")
    for tool in ("mkdir", "chown", "chmod"):
        (bin_dir / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n')
    (bin_dir / "groupadd").write_text(f'#!/bin/sh\necho "groupadd $*" >> "{log}"\necho "$3::$2:" > "{gr}"\n')
    (bin_dir / "useradd").write_text(
        f'#!/bin/sh\necho "useradd $*" >> "{log}"\necho "${{11}}:x:$2:901::$6:$8" > "{pw}"\n'
    )
    (bin_dir / "getent").write_text(
        f'#!/bin/sh\ncase $1 in passwd) f="{pw}";; group) f="{gr}";; esac\n[ -s "$f" ] && cat "$f" && exit 0\nexit 2\n'
    )
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    return bin_dir


def _run(tmp_path: Path, bin_dir: Path, args: list[str]) -> tuple[int, list[str], str]:
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run(["sh", str(SCRIPT), *args], capture_output=True, text=True, env=env, check=False)
    log = tmp_path / "log"
    return done.returncode, log.read_text().splitlines() if log.exists() else [], done.stderr


def test_creates_missing_group_user_and_lock_dir(tmp_path: Path) -> None:
    """On a fresh SmartOS boot (no account), group and user are created with the fixed ids, then run and state."""
    code, calls, err = _run(tmp_path, _stubs(tmp_path, passwd=None, group=False), ARGS)
    assert code == 0, err
    assert calls == [
        "groupadd -g 901 zfstm",
        "useradd -u 901 -g zfstm -d /var/zfstm -s /usr/bin/false -c zfstm service zfstm",
        "mkdir -p /var/zfstm/run /var/zfstm/state",
        "chown zfstm:zfstm /var/zfstm /var/zfstm/run /var/zfstm/state",
        "chmod 0750 /var/zfstm /var/zfstm/state",
        "chmod 0770 /var/zfstm/run",
    ]


def test_existing_account_is_kept_and_lock_dir_made(tmp_path: Path) -> None:
    """An existing account with the right uid is left alone; /var/zfstm/run is created and given to it."""
    stubs = _stubs(tmp_path, passwd="zfstm:x:901:901:zfstm service:/var/zfstm:/usr/bin/false", group=True)
    code, calls, err = _run(tmp_path, stubs, ARGS)
    assert code == 0, err
    assert calls == [
        "mkdir -p /var/zfstm/run /var/zfstm/state",
        "chown zfstm:zfstm /var/zfstm /var/zfstm/run /var/zfstm/state",
        "chmod 0750 /var/zfstm /var/zfstm/state",
        "chmod 0770 /var/zfstm/run",
    ]


def test_wrong_uid_is_a_configuration_error(tmp_path: Path) -> None:
    """An account whose uid differs from account/uid exits 96 (maintenance) and says how to fix it."""
    stubs = _stubs(tmp_path, passwd="zfstm:x:1234:901::/var/zfstm:/usr/bin/false", group=True)
    code, calls, err = _run(tmp_path, stubs, ARGS)
    assert code == 96
    assert "uid 1234" in err and "setprop account/uid" in err
    assert calls == []


@pytest.mark.parametrize("args", [ARGS[:4], ["zfstm", "x1", "zfstm", "901", "/var/zfstm"]])
def test_bad_arguments_are_a_configuration_error(tmp_path: Path, args: list[str]) -> None:
    """Missing or non-numeric ids exit 96 before anything is changed."""
    code, calls, _err = _run(tmp_path, _stubs(tmp_path, passwd=None, group=False), args)
    assert code == 96
    assert calls == []
