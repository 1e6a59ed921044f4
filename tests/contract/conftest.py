"""Fixtures for the ZFS contract suite: one set of tests, run against every backend.

- ``fake`` runs everywhere (host and testbed);
- ``lzc``, ``cli`` and ``cli-joined`` need real ZFS, so they are marked integration and run only in the testbed,
  each test in a fresh dataset ``tank/ct <hex>`` (the space in the name is on purpose: it must survive every
  backend, including the CLI through a prefix that re-joins arguments the way ssh does).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import zfstm.errors
from zfstm.zfs import CommandPrefix, DatasetName, HoldTag, SnapshotName, ZfsBackend
from zfstm.zfs.cli import CliBackend
from zfstm.zfs.fake import FakeBackend

POOL = "tank"
UNPRIVILEGED_USER = "zfsuser"
#: A prefix that behaves like ssh: it joins its arguments with spaces and lets a shell split them again.
SSH_LIKE = ("sh", "-c", 'eval "$*"', "ssh-like")
RUNUSER = ("runuser", "-u", UNPRIVILEGED_USER, "--")

BACKENDS = [
    pytest.param("fake", id="fake"),
    pytest.param("lzc", id="lzc", marks=pytest.mark.integration),
    pytest.param("cli", id="cli", marks=pytest.mark.integration),
    pytest.param("cli-joined", id="cli-joined", marks=pytest.mark.integration),
]


def make_backend(kind: str) -> ZfsBackend:
    """A backend of ``kind`` acting as root."""
    if kind == "lzc":
        from zfstm.zfs.lzc import LzcBackend

        return LzcBackend()
    if kind == "cli":
        return CliBackend()
    if kind == "cli-joined":
        return CliBackend(CommandPrefix(SSH_LIKE, joins_arguments=True))
    raise ValueError(kind)


class LzcAsUser:
    """Calls LzcBackend methods in a child Python running as an unprivileged user, re-raising its zfstm error.

    pyzfs talks to /dev/zfs from the calling process, so the only way to test it without privileges is another
    process with another uid. Arguments are DatasetName/SnapshotName/HoldTag or lists of them; keywords are bools.
    """

    SCRIPT = """
import json, sys
from zfstm.zfs import DatasetName, SnapshotName, HoldTag
from zfstm.zfs.lzc import LzcBackend
def decode(v):
    if isinstance(v, list): return [decode(x) for x in v]
    return {"d": DatasetName, "s": SnapshotName.parse, "t": HoldTag}[v["kind"]](v["text"])
method, args, kwargs = json.loads(sys.argv[1])
try:
    result = getattr(LzcBackend(), method)(*[decode(a) for a in args], **kwargs)
    print(json.dumps({"ok": repr(result)}))
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""

    kind = "lzc-as-user"

    def __getattr__(self, method: str) -> Any:
        def call(*args: Any, **kwargs: bool) -> Any:
            payload = json.dumps([method, [self._encode(a) for a in args], kwargs])
            argv = [*RUNUSER, "env", "PYTHONPATH=/src", "python3", "-c", self.SCRIPT, payload]
            done = subprocess.run(argv, capture_output=True, text=True, check=True)
            answer = json.loads(done.stdout.strip().splitlines()[-1])
            if "error" in answer:
                raise getattr(zfstm.errors, answer["error"], RuntimeError)(answer["message"])
            return answer["ok"]

        return call

    @classmethod
    def _encode(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [cls._encode(v) for v in value]
        kind = {DatasetName: "d", SnapshotName: "s", HoldTag: "t"}[type(value)]
        return {"kind": kind, "text": str(value)}


@attrs.define
class Site:
    """One test's playground: a backend, a fresh root dataset, and ways to touch its files."""

    kind: str
    zfs: ZfsBackend
    root: DatasetName

    @property
    def real(self) -> bool:
        """True on real ZFS (lzc, cli, cli-joined)."""
        return self.kind != "fake"

    def fs(self, relative: str) -> DatasetName:
        """Create the filesystem ``root/relative`` and return its name."""
        name = self.root.child(relative)
        self.zfs.create_filesystem(name)
        return name

    def snap(self, dataset: DatasetName, *shorts: str) -> list[SnapshotName]:
        """Take snapshots one call each (so they get increasing createtxg)."""
        names = [dataset.snapshot(short) for short in shorts]
        for name in names:
            self.zfs.snapshot([name])
        return names

    def _file(self, dataset: DatasetName) -> Path:
        mountpoint = self.zfs.get_properties(dataset, ["mountpoint"])["mountpoint"]
        assert mountpoint, f"{dataset} has no mountpoint"
        return Path(mountpoint) / "contents.txt"

    def write(self, dataset: DatasetName, text: str) -> None:
        """Replace the dataset's contents (a file on real ZFS, the model's contents on the fake)."""
        if isinstance(self.zfs, FakeBackend):
            self.zfs.write_contents(dataset, text)
        else:
            self._file(dataset).write_text(text)

    def read(self, dataset: DatasetName) -> str:
        """The dataset's contents as written by ``write``."""
        if isinstance(self.zfs, FakeBackend):
            return self.zfs.read_contents(dataset)
        path = self._file(dataset)
        return path.read_text() if path.exists() else ""

    def unprivileged(self) -> Any:
        """The same backend kind acting as a user without ``zfs allow`` delegation."""
        if isinstance(self.zfs, FakeBackend):
            return self.zfs.unprivileged()
        if self.kind == "cli":
            return CliBackend(CommandPrefix.exec_list(*RUNUSER))
        if self.kind == "cli-joined":
            return CliBackend(CommandPrefix((*RUNUSER, *SSH_LIKE), joins_arguments=True))
        return LzcAsUser()


def _cleanup(root: DatasetName) -> None:
    """Best effort: release every hold below ``root``, then destroy it with all dependents."""
    listed = subprocess.run(
        ["zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-r", root.full],
        check=False,
        capture_output=True,
        text=True,
    )
    snapshots = [line for line in listed.stdout.splitlines() if line]
    if snapshots:
        held = subprocess.run(["zfs", "holds", "-H", *snapshots], check=False, capture_output=True, text=True)
        for line in held.stdout.splitlines():
            name, tag, _ = line.split("\t", 2)
            subprocess.run(["zfs", "release", tag, name], check=False, capture_output=True)
    subprocess.run(["zfs", "destroy", "-R", "-f", root.full], check=False, capture_output=True)


@pytest.fixture(params=BACKENDS)
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    """A backend of each kind with a fresh, empty root dataset below pool tank."""
    kind: str = request.param
    root = DatasetName(f"{POOL}/ct {uuid.uuid4().hex[:10]}")
    zfs: ZfsBackend = FakeBackend(pools=(POOL,)) if kind == "fake" else make_backend(kind)
    zfs.create_filesystem(root)
    try:
        yield Site(kind, zfs, root)
    finally:
        if kind != "fake":
            _cleanup(root)
