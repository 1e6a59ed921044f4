"""Netatalk inside the testbed guest: the one-volume afp.conf, where netatalk writes its pidfile, and waiting for afpd.

Used by the integration tests, the demo story and the rollback benchmark, which all serve one Time Machine volume
``TM`` from ``/<pool>/<root>/tm`` with its CNID database under ``/<pool>/<root>/cnid``.

Two builds are in the image: trixie's 4.2 (the default, run directly) and bullseye's 3.1 (what SmartOS ships),
run from its own root with chroot because its libraries are not in trixie. :func:`netatalk` gives either as a
:class:`Netatalk`, so a test can be parametrised over :data:`VERSIONS`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import attrs

from zfstm.service.pidfile import PidfileControl
from zfstm.testbed.recipe import GUEST_USERS, NETATALK31_ROOT

#: Where Debian's netatalk reads its configuration.
AFP_CONF = Path("/etc/netatalk/afp.conf")
AFP_PORT = 548
#: The netatalk builds a test can ask for; "4.2" is the default everywhere.
VERSIONS = ("4.2", "3.1")
#: The processes one netatalk consists of (the master starts the others).
DAEMONS = ("netatalk", "afpd", "cnid_metad", "cnid_dbd")
GUEST_USER_NAMES = tuple(user for user, _password in GUEST_USERS)


def afp_conf_text(pool: str, root: str = "", *, cnid_dev: bool = True) -> str:
    """afp.conf for the volume ``TM`` at ``/<pool>[/<root>]/tm``, its ``vol dbpath`` on the sibling ``cnid`` dataset.

    Cleartext and DHX2 logins (the test client speaks cleartext); netatalk's own log in /tmp/work.
    """
    base = f"/{pool}/{root}" if root else f"/{pool}"
    return (
        "[Global]\n"
        "uam list = uams_clrtxt.so uams_dhx2.so\n"
        f"vol dbpath = {base}/cnid/$v/\n"
        "log file = /tmp/work/netatalk.log\n"
        "\n"
        "[TM]\n"
        f"path = {base}/tm\n"
        "time machine = yes\n" + ("" if cnid_dev else "cnid dev = no\n")
    )


def netatalk_lockfile() -> Path:
    """Where the guest's netatalk 4.2 writes its pidfile (``Netatalk.lockfile`` of the image's own build)."""
    return netatalk().lockfile()


def wait_port(port: int, seconds: float) -> float:
    """Wait until something accepts TCP connections on 127.0.0.1:``port``; the seconds it took.

    Raises OSError when nothing does within ``seconds``. (Samba's helper, zfstm.testbed.guest_samba, uses it too.)
    """
    started = time.monotonic()
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            if time.monotonic() - started > seconds:
                raise
            time.sleep(0.2)
        else:
            return time.monotonic() - started


def start_daemon(argv: Sequence[str], what: str) -> None:
    """Run a daemon's start command that forks into the background; RuntimeError with its output if it fails."""
    with tempfile.TemporaryFile() as errors:  # not a pipe: the daemon could keep it open and block us
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=errors, stderr=errors, check=False)
        if done.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"{what} exited {done.returncode}: {errors.read().decode()}")


def wait_listening(seconds: float = 90) -> float:
    """Wait until afpd accepts connections (a while after the netatalk master wrote its pidfile); the seconds it took.

    Raises OSError when it does not within ``seconds``.
    """
    return wait_port(AFP_PORT, seconds)


def version_field(text: str, key: str) -> str | None:
    """The value after ``key:`` in ``afpd -V``/``netatalk -V`` output (keys compared without case), or None."""
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == key.lower():
            return value.strip()
    return None


@attrs.frozen
class Netatalk:
    """One netatalk build in the guest. ``root`` is ``/`` for the image's own 4.2; 3.1 lives in a bullseye root
    and runs with chroot, seeing the pool and /tmp through bind mounts at the same paths as the guest does."""

    version: str
    root: Path = Path("/")

    @property
    def chrooted(self) -> bool:
        return self.root != Path("/")

    def command(self, *argv: str) -> list[str]:
        """The argument list that runs one of this build's programs (netatalk, afpd, dbd, db5.3_dump) from the guest."""
        return ["chroot", str(self.root), *argv] if self.chrooted else list(argv)

    def run(self, *argv: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*argv), capture_output=True, text=True, check=check)

    def outside(self, inside: str | os.PathLike[str]) -> Path:
        """A path as this build sees it, as the guest sees it; symlinks inside the root resolve inside it (the
        bullseye root's /var/lock is a link to /run/lock, which must not mean the guest's /run/lock)."""
        if not self.chrooted:
            return Path(inside)
        parts = list(PurePosixPath(inside).parts[1:])
        resolved = PurePosixPath("/")
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                resolved = resolved.parent
                continue
            candidate = resolved / part
            host = self.root / candidate.relative_to("/")
            if host.is_symlink() and hops < 40:
                hops += 1
                target = PurePosixPath(host.readlink())
                parts = [*target.parts[1:], *parts] if target.is_absolute() else [*target.parts, *parts]
                resolved = PurePosixPath("/") if target.is_absolute() else resolved
                continue
            resolved = candidate
        return self.root / resolved.relative_to("/")

    @property
    def afp_conf(self) -> Path:
        """Where this build reads afp.conf, as the guest sees it."""
        return self.outside(AFP_CONF)

    def afpd_version(self) -> str:
        """``afpd -V``: the version line, then the build's paths and features."""
        done = self.run("afpd", "-V")
        return done.stdout + done.stderr

    def state_dir(self) -> Path:
        """netatalk's state directory (the default home of CNID databases, ``<it>/CNID/<volume>/``), as the guest
        sees it: the "state directory" line of ``afpd -V``."""
        inside = version_field(self.afpd_version(), "state directory") or "/var/lib/netatalk/"
        return self.outside(inside)

    def lockfile(self) -> Path:
        """The netatalk master's pidfile as the guest sees it ("netatalk lock file" in ``netatalk -V``: 3.1.12 and
        4.2.3 both say /var/lock/netatalk, a link to /run/lock/netatalk)."""
        done = self.run("netatalk", "-V")
        text = done.stdout + done.stderr
        inside = version_field(text, "netatalk lock file") or version_field(text, "lockfile") or "/run/lock/netatalk"
        return self.outside(inside)

    def prepare(self, pool: str, users: Sequence[str] = GUEST_USER_NAMES) -> None:
        """Make the chroot usable (nothing to do for 4.2): /proc, /sys, /dev and /tmp bound in, a tmpfs on /run
        with /run/lock, the pool rbind-mounted at the same path after making it rshared (so datasets created,
        renamed or swapped later appear inside too), and the users' passwd/group/shadow lines copied in so logins
        and file owners agree. Safe to call again."""
        if not self.chrooted:
            return
        for source, target, args in (
            ("/proc", "proc", ["--bind"]),
            ("/sys", "sys", ["--bind"]),
            ("/dev", "dev", ["--rbind"]),
            ("/tmp", "tmp", ["--bind"]),  # noqa: S108 (the same /tmp: logs in /tmp/work, as for 4.2)
            ("tmpfs", "run", ["-t", "tmpfs"]),
        ):
            where = self.root / target
            where.mkdir(exist_ok=True)
            if not os.path.ismount(where):
                subprocess.run(["mount", *args, source, str(where)], check=True)
        (self.root / "run/lock").mkdir(exist_ok=True)
        pool_root = self.root / pool
        pool_root.mkdir(exist_ok=True)
        if not os.path.ismount(pool_root):
            subprocess.run(["mount", "--make-rshared", f"/{pool}"], check=True)
            subprocess.run(["mount", "--rbind", f"/{pool}", str(pool_root)], check=True)
        for name in ("passwd", "group", "shadow"):
            _copy_account_lines(Path("/etc") / name, self.root / "etc" / name, users)

    def release(self, pool: str) -> None:
        """Undo :meth:`prepare`'s mounts (netatalk must be stopped): the pool first, so nothing keeps it busy.

        Each copy is made private before it is unmounted: the pool's copy is a peer of the pool, and unmounting
        its dataset mounts while they are peers would unmount the guest's own datasets too."""
        if not self.chrooted:
            return
        for target in (pool, "run", "tmp", "dev", "sys", "proc"):
            where = self.root / target
            if os.path.ismount(where):
                subprocess.run(["mount", "--make-rprivate", str(where)], check=True)
                subprocess.run(["umount", "-R", str(where)], check=True)

    def running(self, *names: str) -> list[int]:
        """Pids of this build's daemons, or of those called ``names`` (by name and by root directory: a 4.2 is not
        mistaken for a 3.1)."""
        wanted = names or DAEMONS
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() in wanted and (entry / "root").readlink() == self.root:
                    found.append(int(entry.name))
        return found

    def start(self, conf_text: str, pool: str, *, seconds: float = 90) -> float:
        """Write ``conf_text`` as this build's afp.conf, start its netatalk and wait until afpd accepts AFP
        connections on port 548; the seconds that took. Only one netatalk can listen at a time."""
        self.prepare(pool)
        self.afp_conf.parent.mkdir(parents=True, exist_ok=True)
        self.afp_conf.write_text(conf_text)
        started = time.monotonic()
        start_daemon(self.command("netatalk"), f"netatalk {self.version}")
        wait_listening(seconds)
        return time.monotonic() - started

    def stop(self, *, seconds: float = 60) -> float:
        """SIGTERM to the master, then wait until none of its daemons is left (cnid_dbd has closed its database);
        the seconds that took."""
        started = time.monotonic()
        for pid in self.running("netatalk"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        while self.running():
            if time.monotonic() - started > seconds:
                raise TimeoutError(f"netatalk {self.version} still running after {seconds} s: {self.running()}")
            time.sleep(0.2)
        return time.monotonic() - started

    def server(self) -> PidfileControl:
        """The same build as zfstm's pidfile adapter drives it (what rollback_share.py uses for 4.2); call
        :meth:`prepare` and write :attr:`afp_conf` first."""
        return PidfileControl(argv=self.command("netatalk"), pidfile=self.lockfile(), program="netatalk")


def netatalk(version: str = "4.2") -> Netatalk:
    """The build of netatalk ``version`` ("4.2" or "3.1") in the testbed image."""
    if version == "4.2":
        return Netatalk("4.2")
    if version == "3.1":
        return Netatalk("3.1", Path(NETATALK31_ROOT))
    raise ValueError(f"no netatalk {version} in the testbed (have {', '.join(VERSIONS)})")


def _copy_account_lines(source: Path, target: Path, names: Sequence[str]) -> None:
    """Replace ``names``' lines in ``target`` (a passwd-style file) by the guest's own."""
    wanted = [line for line in source.read_text().splitlines() if line.split(":", 1)[0] in names]
    kept = [line for line in target.read_text().splitlines() if line.split(":", 1)[0] not in names]
    target.write_text("\n".join([*kept, *wanted]) + "\n")
