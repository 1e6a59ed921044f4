"""The functional core of zfstm.timemachine does no I/O: only the reader may touch files."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import zfstm.timemachine

PACKAGE = Path(zfstm.timemachine.__file__).parent
SHELL_MODULES = {"reader.py"}
FORBIDDEN = {"os", "subprocess", "pathlib", "shutil", "socket", "io", "tempfile", "time", "zfstm.zfs", "libzfs_core"}


def imported_modules(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in SHELL_MODULES))
def test_core_module_is_pure(module: str) -> None:
    """Pure modules import nothing that reaches files, processes, clocks or ZFS."""
    imported = imported_modules((PACKAGE / module).read_text())
    bad = {name for name in imported if name in FORBIDDEN or any(name.startswith(f + ".") for f in FORBIDDEN)}
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", sorted(p.name for p in PACKAGE.glob("*.py")))
def test_no_wall_clock(module: str) -> None:
    """No module reads the wall clock: "now" is always a parameter."""
    source = (PACKAGE / module).read_text()
    assert ".now(" not in source
    assert "utcnow" not in source
    assert "time.time" not in source
