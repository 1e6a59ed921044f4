"""The SMF account method (share/smf/zfstm-account) creates what is missing, keeps what is there, refuses a wrong uid.

Run with POSIX sh on the host; getent, groupadd, useradd, mkdir, chown and chmod are stubs that log their argv
(ls answers that the account owns what it is asked about). The symlink tests run the real tools on a temp home.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "zfstm" / "share" / "smf" / "zfstm-account"
ARGS = ["zfstm", "901", "zfstm", "901", "/var/zfstm"]
#: Home taken back while run and state are made (the account cannot swap them), handed back last; -h everywhere.
SAFE_SETUP = [
    "mkdir -m 0750 /var/zfstm",
    "chown -h 0:0 /var/zfstm",
    "chmod 0755 /var/zfstm",
    "mkdir -m 0700 /var/zfstm/run",
    "mkdir -m 0700 /var/zfstm/state",
    "chown -h zfstm:zfstm /var/zfstm/run /var/zfstm/state",
    "chmod 0750 /var/zfstm/state",
    "chmod 0770 /var/zfstm/run",
    "chown -h zfstm:zfstm /var/zfstm",
    "chmod 0750 /var/zfstm",
]
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
    (bin_dir / "ls").write_text('#!/bin/sh\necho "drwxrwx--- 2 901 901 2 Jan 1 00:00 $2"\n')
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
        *SAFE_SETUP,
    ]


def test_existing_account_is_kept_and_lock_dir_made(tmp_path: Path) -> None:
    """An existing account with the right uid is left alone; /var/zfstm/run is created and given to it."""
    stubs = _stubs(tmp_path, passwd="zfstm:x:901:901:zfstm service:/var/zfstm:/usr/bin/false", group=True)
    code, calls, err = _run(tmp_path, stubs, ARGS)
    assert code == 0, err
    assert calls == [
        *SAFE_SETUP,
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


def _real_account(tmp_path: Path) -> tuple[Path, list[str]]:
    """Only getent is stubbed (the current user is 'the account'); mkdir, mv, chown, chmod and ls are the real ones."""
    import grp
    import pwd

    uid, gid = os.getuid(), os.getgid()
    user, group = pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "getent").write_text(
        f'#!/bin/sh\ncase $1 in passwd) echo "{user}:x:{uid}:{gid}::/h:/bin/false";; '
        f'group) echo "{group}::{gid}:";; esac\n'
    )
    (bin_dir / "getent").chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    return bin_dir, [user, str(uid), group, str(gid), str(home)]


@pytest.mark.parametrize("planted", ["run", "state"])
def test_a_planted_symlink_is_moved_aside_never_followed(tmp_path: Path, planted: str) -> None:
    """The account points run (or state) at a root-owned directory: the target keeps its mode and contents."""
    bin_dir, args = _real_account(tmp_path)
    target = tmp_path / "root-owned"
    target.mkdir()
    (target / "manifest.xml").write_text("root's")
    target.chmod(0o755)
    before = target.stat()
    home = Path(args[4])
    (home / planted).symlink_to(target)
    code, _calls, err = _run(tmp_path, bin_dir, args)
    assert code == 0, err
    after = target.stat()
    assert (after.st_mode, after.st_uid, after.st_gid) == (before.st_mode, before.st_uid, before.st_gid)
    assert [p.name for p in target.iterdir()] == ["manifest.xml"]
    for name in ("run", "state"):
        assert (home / name).is_dir() and not (home / name).is_symlink()
    assert oct((home / "run").stat().st_mode & 0o777) == "0o770"
    aside = [p for p in home.iterdir() if p.name.startswith(f"{planted}.unsafe.")]
    assert len(aside) == 1 and aside[0].is_symlink()
    assert "moved it aside" in err


def test_a_planted_file_or_hard_link_is_moved_aside(tmp_path: Path) -> None:
    """A file named state (a hard link to anything) is not chowned or chmodded: it is renamed, a directory made."""
    bin_dir, args = _real_account(tmp_path)
    secret = tmp_path / "secret"
    secret.write_text("x")
    secret.chmod(0o600)
    home = Path(args[4])
    os.link(secret, home / "state")
    code, _calls, err = _run(tmp_path, bin_dir, args)
    assert code == 0, err
    assert oct(secret.stat().st_mode & 0o777) == "0o600"
    assert (home / "state").is_dir()


def test_a_symlinked_home_is_refused(tmp_path: Path) -> None:
    """$home itself a symlink: configuration error (96), nothing changed behind it."""
    bin_dir, args = _real_account(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    elsewhere.chmod(0o700)
    home = Path(args[4])
    home.rmdir()
    home.symlink_to(elsewhere)
    code, _calls, err = _run(tmp_path, bin_dir, args)
    assert code == 96
    assert "symlink" in err
    assert list(elsewhere.iterdir()) == [] and oct(elsewhere.stat().st_mode & 0o777) == "0o700"
