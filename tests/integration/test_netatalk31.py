"""netatalk 3.1 (Debian bullseye's 3.1.12, as SmartOS ships 3.1.x) beside 4.2 (trixie's 4.2.3), measured.

For each version: where the CNID database lands with (a) ``vol dbpath = <base>/cnid/$v/`` and a volume ``[TM]``,
(b) no dbpath (the state directory of ``afpd -V``) and (c) ``vol dbnest = yes``, each after one file was created
over AFP; what the metadata EA and cnid2.db hold for that file; ``dbd``'s flags; ``afpd -V``'s version line. zfstm's
own readers (afp.conf parser, EA and CNID codecs) must agree with what each server wrote. Case (c) is started and
stopped through zfstm's pidfile adapter (``Netatalk.server()``), the others with ``start``/``stop``. The facts are
recorded in docs/netatalk.md ("netatalk 3.1 and 4.2: what differs").
"""

from __future__ import annotations

import json
import os
import pwd
import re
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from zfstm.netatalk.afpconf import parse_afp_conf
from zfstm.netatalk.cnid import CnidDatabase
from zfstm.netatalk.cniddb import EXPECTED_SUBDATABASES, PRIMARY, list_subdatabases, read_cnid_database
from zfstm.netatalk.metadata_ea import EA_NAME_LINUX, EA_SIZE, LAYOUT, decode_metadata_ea
from zfstm.netatalk.version import parse_afpd_version
from zfstm.testbed.afpclient import AfpClient
from zfstm.testbed.guest_netatalk import (
    VERSIONS,
    Netatalk,
    afp_conf_text,
    netatalk,
    version_field,
    wait_listening,
)

pytestmark = pytest.mark.integration

POOL = os.environ.get("ZFSTM_TESTBED_POOL", "tank")
OUT = Path(os.environ.get("ZFSTM_TESTBED_OUT", "/tmp/work/out"))
GLOBAL = "[Global]\nuam list = uams_clrtxt.so uams_dhx2.so\nlog file = /tmp/work/netatalk.log\n"

#: What each version did, seen in the testbed on 2026-12-03 (docs/netatalk.md).
EXPECTED: dict[str, dict[str, object]] = {
    "4.2": {
        "volume name": "tm",
        "dbpath $v": "tm",
        "state directory": "/var/lib/netatalk/",
        "default CNID dir": "tm",
        "dbnest": True,
        "rootinfo version": 1,
        "dbd flags": "cfFstuvV",
        "CNID backends": "dbd last mysql",
        "AFP versions": "1.1 2.0 2.1 2.2 3.0 3.1 3.2 3.3 3.4",
        "pidfile": "/var/lock/netatalk",
        "major": 4,
        "lower-cased volume names": True,
    },
    "3.1": {
        "volume name": "TM",
        "dbpath $v": "TM",
        "state directory": "/var/lib/netatalk/",
        "default CNID dir": "TM",
        "dbnest": True,
        "rootinfo version": 1,
        "dbd flags": "cfFstuvV",
        "CNID backends": "dbd last tdb mysql",
        "AFP versions": "2.2 3.0 3.1 3.2 3.3 3.4",
        "pidfile": "/var/lock/netatalk",
        "major": 3,
        "lower-cased volume names": False,
    },
}


@attrs.frozen
class Served:
    """One version's three configurations served once each; paths are as the guest sees them."""

    nt: Netatalk
    base: Path
    volume_names: dict[str, list[str]]  # case -> FPGetSrvrParms
    db_dirs: dict[str, Path]  # case -> the .AppleDB that appeared
    confs: dict[str, str]  # case -> afp.conf text
    cnids: dict[str, int]  # case (a): path in the volume -> CNID handed out over AFP
    db: CnidDatabase  # case (a), read after netatalk stopped
    start_seconds: list[float]


def serve_once(nt: Netatalk, conf: str, *, adapter: bool = False) -> tuple[list[str], dict[str, int], float]:
    """Start with ``conf``, create folder/file.txt over AFP in its only volume, stop; (names, CNIDs, start time).
    With ``adapter``, zfstm's pidfile adapter starts and stops it (as rollback_share.py does for 4.2)."""
    server = None
    if adapter:
        nt.prepare(POOL)
        nt.afp_conf.write_text(conf)
        server = nt.server()
        t0 = time.monotonic()
        server.start()
        seconds = time.monotonic() - t0 + wait_listening()
    else:
        seconds = nt.start(conf, POOL)
    with AfpClient() as afp:
        afp.login("tmuser", "tmpass")
        names = afp.volume_names()
        vol = afp.open_volume(names[0])
        folder = afp.create_dir(vol, 2, "folder")
        cnids = {"folder": folder, "folder/file.txt": afp.write_file(vol, folder, "file.txt", b"hello\n")}
        afp.close_volume(vol)
        afp.logout()
    if server is not None:
        server.stop()
        assert not server.is_running()
    nt.stop()
    return names, cnids, seconds


def only_child(parent: Path) -> str:
    """The one directory in ``parent`` (the state directory's CNID/ also holds a README)."""
    children = sorted(p.name for p in parent.iterdir() if p.is_dir())
    assert len(children) == 1, children
    return children[0]


@pytest.fixture(scope="module", params=VERSIONS)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    OUT.mkdir(parents=True, exist_ok=True)
    nt = netatalk(request.param)
    base = Path(f"/{POOL}/n{request.param.replace('.', '')}")
    subprocess.run(["zfs", "create", base.relative_to("/").as_posix()], check=True)
    user = pwd.getpwnam("tmuser")
    for sub in ("tm", "plain", "nest", "cnid"):
        (base / sub).mkdir(parents=True)
        os.chown(base / sub, user.pw_uid, user.pw_gid)
    confs = {
        "dbpath": afp_conf_text(POOL, base.name),
        "default": f"{GLOBAL}\n[TM]\npath = {base}/plain\n",
        "dbnest": f"{GLOBAL}vol dbnest = yes\n\n[TM]\npath = {base}/nest\n",
    }
    names: dict[str, list[str]] = {}
    starts: list[float] = []
    cnids: dict[str, int] = {}
    for case, conf in confs.items():
        names[case], created, seconds = serve_once(nt, conf, adapter=case == "dbnest")
        starts.append(seconds)
        cnids = created if case == "dbpath" else cnids
    state = nt.state_dir() / "CNID"
    db_dirs = {
        "dbpath": base / "cnid" / only_child(base / "cnid") / ".AppleDB",
        "default": state / only_child(state) / ".AppleDB",
        "dbnest": base / "nest/.AppleDB",
    }
    db = read_cnid_database(db_dirs["dbpath"])
    yield Served(nt, base, names, db_dirs, confs, cnids, db, starts)
    nt.release(POOL)


def facts(served: Served) -> dict[str, object]:
    """What was seen, in EXPECTED's terms (also written to the output directory for the docs)."""
    nt = served.nt
    usage = nt.run("dbd", "-h")
    flags = re.search(r"Usage: dbd \[-(\w+)\]", usage.stdout + usage.stderr)
    version = parse_afpd_version(nt.afpd_version())
    master = nt.run("netatalk", "-V")
    assert served.db.rootinfo is not None
    seen: dict[str, object] = {
        "volume name": served.volume_names["dbpath"][0],
        "dbpath $v": served.db_dirs["dbpath"].parent.name,
        "state directory": str(served.db_dirs["default"].parents[2]).removeprefix(str(nt.root).rstrip("/")) + "/",
        "default CNID dir": served.db_dirs["default"].parent.name,
        "dbnest": served.db_dirs["dbnest"].is_dir() and (served.db_dirs["dbnest"] / PRIMARY).is_file(),
        "rootinfo version": served.db.rootinfo.version,
        "dbd flags": flags.group(1) if flags else None,
        "CNID backends": version_field(nt.afpd_version(), "CNID backends"),
        "AFP versions": version_field(nt.afpd_version(), "AFP versions"),
        "pidfile": version_field(master.stdout, "netatalk lock file"),
        "major": version.version[0] if version else None,
        "lower-cased volume names": version.lower_volume_names if version else None,
    }
    dirs = {case: str(path) for case, path in served.db_dirs.items()}
    raw = {
        "afpd -V": nt.afpd_version(),
        "netatalk -V": master.stdout + master.stderr,
        "dbd -h": usage.stdout + usage.stderr,
        "db dirs": dirs,
    }
    record = {**seen, **raw, "start seconds": served.start_seconds}
    (OUT / f"netatalk-{nt.version}-facts.json").write_text(json.dumps(record, indent=2) + "\n")
    return seen


def test_facts_are_as_recorded(served: Served) -> None:
    """Volume name, database places, rootinfo version, dbd's flags and the version line, per version."""
    assert facts(served) == EXPECTED[served.nt.version]


def test_zfstm_finds_each_database_where_the_server_put_it(served: Served) -> None:
    """zfstm's afp.conf reader, told the version's naming rule and state directory, predicts every .AppleDB."""
    lower = served.nt.version.startswith("4.")
    statedir = str(EXPECTED[served.nt.version]["state directory"])
    for case, conf in served.confs.items():
        volume = parse_afp_conf(conf, "afp.conf", statedir=statedir, lower_names=lower).volume("TM")
        assert volume is not None
        assert volume.name == served.volume_names[case][0]
        assert served.nt.outside(volume.db_dir).samefile(served.db_dirs[case]), case


def test_metadata_ea_and_cnid2db_carry_the_cnid_handed_out(served: Served) -> None:
    """The one EA, 402 bytes in the 4.2 entry order with a zero filler, decodes to the file's CNID, dev, ino and the
    database stamp; cnid2.db has the four sub-databases, the same record and the counter at the last CNID."""
    path = served.base / "tm/folder/file.txt"
    cnid = served.cnids["folder/file.txt"]
    assert os.listxattr(path) == [EA_NAME_LINUX]
    raw = os.getxattr(path, EA_NAME_LINUX)
    (OUT / f"netatalk-{served.nt.version}-ea.hex").write_text(raw.hex() + "\n")
    assert len(raw) == EA_SIZE
    table = [struct.unpack_from(">III", raw, 26 + 12 * i) for i in range(8)]
    assert [(eid, off) for eid, off, _ in table] == [(eid, off) for eid, off, _ in LAYOUT]
    ea = decode_metadata_ea(raw, where=str(path))
    st = path.stat()
    assert served.db.rootinfo is not None
    assert (ea.cnid, ea.dev, ea.ino, ea.stamp) == (cnid, st.st_dev, st.st_ino, served.db.rootinfo.stamp)
    assert ea.filler == b"\0" * 16
    # a little-endian time_t: cnid2.db's ctime
    assert abs(int.from_bytes(ea.stamp, "little", signed=True) - time.time()) < 3600
    assert sorted(list_subdatabases(served.db_dirs["dbpath"] / PRIMARY)) == sorted(EXPECTED_SUBDATABASES)
    record = next(r for r in served.db.records if r.cnid == cnid)
    assert (record.did, record.name, record.devino) == (served.cnids["folder"], "file.txt", (st.st_dev, st.st_ino))
    assert served.cnids == {"folder": 17, "folder/file.txt": 18}
    assert served.db.rootinfo.last_cnid == 18


def test_datasets_made_later_appear_in_the_root_and_release_keeps_the_guests(served: Served) -> None:
    """The pool is shared into the 3.1 root, so a dataset created after netatalk started is there too; releasing
    the root's mounts leaves every dataset mounted in the guest (runs last for each version)."""
    later = served.base / "later"
    subprocess.run(["zfs", "create", later.relative_to("/").as_posix()], check=True)
    inside = served.nt.root / later.relative_to("/")
    assert os.path.ismount(inside) and inside.samefile(later)
    served.nt.release(POOL)
    assert os.path.ismount(served.base) and os.path.ismount(later)
    assert not served.nt.chrooted or not os.path.ismount(served.nt.root / POOL)
