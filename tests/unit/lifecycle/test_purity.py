"""The functional core of the life-cycle and the configuration does no I/O: only the shell modules may."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import zfstm

ROOT = Path(zfstm.__file__).parent
PURE = [
    "lifecycle/model.py",
    "lifecycle/decide.py",
    "lifecycle/upkeep.py",
    "lifecycle/outcome.py",
    "lifecycle/report.py",
    "lifecycle/status.py",
    "config/model.py",
    "config/locate.py",
    "config/render.py",
]
FORBIDDEN = {
    "os",
    "subprocess",
    "pathlib",
    "shutil",
    "socket",
    "fcntl",
    "time",
    "zfstm.zfs",
    "zfstm.zfs.cli",
    "zfstm.zfs.lzc",
    "zfstm.zfs.fake",
    "zfstm.lock",
    "zfstm.retention.apply",
    "zfstm.service",
    "zfstm.lifecycle.tick",
    "zfstm.lifecycle.observe",
    "zfstm.timemachine.reader",
    "libzfs_core",
}


def imported_modules(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", PURE)
def test_core_module_is_pure(module: str) -> None:
    """Pure modules import nothing that reaches files, processes, locks, services or a ZFS backend."""
    imported = imported_modules((ROOT / module).read_text())
    bad = {
        name
        for name in imported
        if name in FORBIDDEN
        or any(name.startswith(f + ".") for f in FORBIDDEN if f in {"zfstm.service", "libzfs_core"})
    }
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", [*PURE, "lifecycle/tick.py", "lifecycle/observe.py", "config/load.py"])
def test_no_wall_clock(module: str) -> None:
    """No life-cycle or configuration module reads the clock: "now" is always a parameter."""
    source = (ROOT / module).read_text()
    assert ".now(" not in source
    assert "time.time" not in source
