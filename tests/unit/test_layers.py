"""The layer contract, in one place: no import cycle anywhere, and the functional core does no I/O.

The core (values in, values out) may not import a process, file, socket or clock module, a ZFS backend, a shell
module or the CLI, nor call anything that reads or writes a file; only the shell may. A new pure module joins
``CORE``; a module that must touch the world stays out of it (``retention.timeline_svg`` is pure but for its
``python -m`` entry point that writes the picture).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import zfstm

ROOT = Path(zfstm.__file__).parent

#: The functional core, by module name.
CORE = (
    "zfstm.check.verdict",
    "zfstm.clock",
    "zfstm.config.locate",
    "zfstm.config.model",
    "zfstm.config.render",
    "zfstm.lifecycle.decide",
    "zfstm.lifecycle.model",
    "zfstm.lifecycle.outcome",
    "zfstm.lifecycle.report",
    "zfstm.lifecycle.status",
    "zfstm.lifecycle.upkeep",
    "zfstm.naming",
    "zfstm.netatalk.bdbdump",
    "zfstm.netatalk.check",
    "zfstm.netatalk.cnid",
    "zfstm.netatalk.cnid_records",
    "zfstm.netatalk.metadata_ea",
    "zfstm.netatalk.migrate",
    "zfstm.netatalk.rebuild",
    "zfstm.retention",
    "zfstm.retention.calendar",
    "zfstm.retention.durations",
    "zfstm.retention.plan",
    "zfstm.retention.planner",
    "zfstm.retention.policy",
    "zfstm.retention.policy_text",
    "zfstm.retention.render",
    "zfstm.retention.snapshots",
    "zfstm.rollback.machine",
    "zfstm.rollback.model",
    "zfstm.rollback.planner",
    "zfstm.rollback.render",
    "zfstm.service.asip",
    "zfstm.command",
    "zfstm.service.control",
    "zfstm.service.holders",
    "zfstm.service.smf",
    "zfstm.service.smf_exit",
    "zfstm.service.systemd",
    "zfstm.snapshots",
    "zfstm.snapshots.model",
    "zfstm.snapshots.tags",
    "zfstm.timemachine",
    "zfstm.timemachine.detector",
    "zfstm.timemachine.due",
    "zfstm.timemachine.history",
    "zfstm.timemachine.knowngood",
    "zfstm.timemachine.machineid",
    "zfstm.timemachine.plist",
    "zfstm.timemachine.properties",
    "zfstm.timemachine.share",
    "zfstm.timemachine.sparsebundle",
    "zfstm.timemachine.timefmt",
    "zfstm.zfs.cli_argv",
    "zfstm.zfs.cli_errors",
    "zfstm.zfs.cli_parse",
    "zfstm.zfs.names",
    "zfstm.zfs.types",
)

#: Standard modules that reach files, processes, sockets, locks or the clock.
FORBIDDEN_STDLIB = {"os", "subprocess", "pathlib", "shutil", "socket", "fcntl", "io", "tempfile", "time"}

#: zfstm modules that touch the world: the CLI, ZFS backends and the rest of the shell.
FORBIDDEN_ZFSTM = (
    "zfstm.cli",
    "zfstm.zfs",  # the package itself opens backends; zfstm.zfs.names and friends are allowed
    "zfstm.zfs.cli",
    "zfstm.zfs.lzc",
    "zfstm.zfs.fake",
    "zfstm.lock",
    "zfstm.retention.apply",
    "zfstm.lifecycle.tick",
    "zfstm.lifecycle.observe",
    "zfstm.timemachine.reader",
    "zfstm.runner",
    "zfstm.netatalk.cnid_counter",
    "zfstm.netatalk.cniddb",
    "zfstm.netatalk.scan",
    "zfstm.snapshots.reader",
    "libzfs_core",
)

#: Stricter rules for some packages' core: the life-cycle and configuration never reach a service, Time Machine
#: awareness never reaches ZFS (prefixes).
PACKAGE_FORBIDDEN = {
    "zfstm.lifecycle.": ("zfstm.service",),
    "zfstm.config.": ("zfstm.service",),
    "zfstm.timemachine": ("zfstm.zfs",),
}

#: Calls that read or write a file (``open``, ``Path.read_text``...).
FILE_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "getxattr", "listxattr", "scandir"}

#: Packages whose core must not even load zfstm.zfs (the retention core plans over plain names).
NO_ZFS_AT_ALL = ("zfstm.retention", "zfstm.naming", "zfstm.clock")


def all_modules() -> dict[str, Path]:
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """Every module ``name`` imports (also under TYPE_CHECKING and inside functions); ``from pkg import sub`` is an
    import of ``pkg.sub`` only."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            if base == "pathlib" and all(alias.name.startswith("Pure") for alias in node.names):
                continue  # pure paths compute names and touch nothing
            subs = {f"{base}.{alias.name}" for alias in node.names} & known
            yield from subs if len(subs) == len(node.names) else {base, *subs}


def file_calls(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called in FILE_CALLS:
                found.add(called)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root, edges_of_root in graph.items():
        if root in index:
            continue
        work = [(root, iter(sorted(edges_of_root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_layer_contract() -> None:
    """No import cycle; no core module imports I/O, a backend, the shell or the CLI, or reads a file; importing the
    whole core loads no subprocess and no backend (the retention core not even zfstm.zfs)."""
    modules = all_modules()
    known = set(modules)
    graph = {name: set(imports_of(name, path, known)) & known - {name} for name, path in modules.items()}
    problems = [f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(graph)]
    for name in CORE:
        assert name in modules, f"{name} is listed as core but does not exist"
        imported = set(imports_of(name, modules[name], known))
        bad = {m for m in imported if m.split(".")[0] in FORBIDDEN_STDLIB or m in FORBIDDEN_ZFSTM}
        bad |= {m for m in imported if m.startswith(("zfstm.cli.", "zfstm.testbed", "libzfs_core."))}
        for package, prefixes in PACKAGE_FORBIDDEN.items():
            if name.startswith(package):
                bad |= {m for m in imported if m.startswith(prefixes)}
        if bad:
            problems.append(f"{name} (core) imports {sorted(bad)}")
        if calls := file_calls(modules[name]):
            problems.append(f"{name} (core) calls {sorted(calls)}")
    code = (
        "import sys\n"
        f"for m in {CORE!r}: __import__(m)\n"
        "bad = sorted(m for m in sys.modules if m in ('subprocess', 'zfstm.zfs.cli', 'zfstm.zfs.lzc', 'zfstm.zfs.fake')"
        " or m.startswith(('zfstm.cli', 'libzfs_core')))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    if done.stdout.strip():
        problems.append(f"importing the core loads {done.stdout.strip()}")
    retention = "import sys\n" + "".join(f"import {m}\n" for m in CORE if m.startswith(NO_ZFS_AT_ALL))
    retention += "print(','.join(sorted(m for m in sys.modules if m.startswith('zfstm.zfs'))))\n"
    done = subprocess.run([sys.executable, "-c", retention], capture_output=True, text=True, check=True)
    if done.stdout.strip():
        problems.append(f"importing the retention core loads {done.stdout.strip()}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "module",
    [
        *(m for m in CORE if m.startswith(("zfstm.lifecycle", "zfstm.config", "zfstm.timemachine"))),
        "zfstm.lifecycle.tick",
        "zfstm.lifecycle.observe",
        "zfstm.config.load",
        "zfstm.timemachine.reader",
    ],
)
def test_no_wall_clock(module: str) -> None:
    """No life-cycle, configuration or Time Machine module reads the clock: "now" is always a parameter."""
    source = all_modules()[module].read_text()
    assert ".now(" not in source
    assert "utcnow" not in source
    assert "time.time" not in source
