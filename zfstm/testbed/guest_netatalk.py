"""Netatalk inside the testbed guest: the one-volume afp.conf, where netatalk writes its pidfile, and waiting for afpd.

Used by the integration tests, the demo story and the rollback benchmark, which all serve one Time Machine volume
``TM`` from ``/<pool>/<root>/tm`` with its CNID database under ``/<pool>/<root>/cnid``.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

#: Where Debian's netatalk reads its configuration.
AFP_CONF = Path("/etc/netatalk/afp.conf")
AFP_PORT = 548


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
    """Where this netatalk build writes its pidfile (its "lockfile", as ``netatalk -V`` reports it)."""
    out = subprocess.run(["netatalk", "-V"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == "lockfile":
            return Path(value.strip())
    return Path("/run/lock/netatalk")


def wait_listening(seconds: float = 90) -> float:
    """Wait until afpd accepts connections (a while after the netatalk master wrote its pidfile); the seconds it took.

    Raises OSError when it does not within ``seconds``.
    """
    started = time.monotonic()
    while True:
        try:
            socket.create_connection(("127.0.0.1", AFP_PORT), timeout=2).close()
        except OSError:
            if time.monotonic() - started > seconds:
                raise
            time.sleep(0.2)
        else:
            return time.monotonic() - started
