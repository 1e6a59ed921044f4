"""Read a volume's cnid2.db through the Berkeley DB dump tool (shell: runs a process, reads nothing else).

Strictly read-only: the tool is run on the file itself (no ``-h`` environment), which opens it read-only and
creates no region files. While cnid_dbd is running, pages it has not yet written back may be missing from the
file, so a consistent picture needs netatalk stopped (or cnid_dbd idle: it checkpoints when idle).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from zfstm.errors import CnidDatabaseError, EnvironmentMissing
from zfstm.netatalk.bdbdump import DumpFormatError, parse_dump
from zfstm.netatalk.cnid import CnidDatabase, CnidFormatError, database_from_pairs
from zfstm.runner import run_command

#: Dump tools that match netatalk's libdb, in order of preference (Debian, pkgsrc/illumos, generic).
DUMP_TOOLS: tuple[str, ...] = ("db5.3_dump", "db53_dump", "db5_dump", "db_dump")
PRIMARY = "cnid2.db"
#: Sub-databases netatalk 3/4 creates inside cnid2.db.
EXPECTED_SUBDATABASES = ("cnid2.db", "devino.db", "didname.db", "name.db")


def find_dump_tool(candidates: Sequence[str] = DUMP_TOOLS) -> str:
    for name in candidates:
        path = shutil.which(name)
        if path:
            return path
    raise EnvironmentMissing(
        f"none of {', '.join(candidates)} found: install the Berkeley DB 5.3 utilities (Debian: db5.3-util) "
        "to read netatalk's CNID database"
    )


def _run(argv: list[str], db_file: Path) -> str:
    try:
        done = run_command(argv, timeout=600, timed_out=CnidDatabaseError)
    except EnvironmentMissing as exc:
        raise CnidDatabaseError(f"{db_file}: cannot run {argv[0]}: {exc}") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise CnidDatabaseError(
            f"{db_file}: {Path(argv[0]).name} failed ({'; '.join(detail[-3:]) or f'exit {done.returncode}'}): "
            "the database is missing, truncated or corrupt. Nothing was changed; stop netatalk and rebuild it "
            "with `dbd -f` only if you have no better copy (snapshot)."
        )
    return done.stdout


def list_subdatabases(db_file: Path, tool: str | None = None) -> tuple[str, ...]:
    out = _run([tool or find_dump_tool(), "-l", str(db_file)], db_file)
    return tuple(line.strip() for line in out.splitlines() if line.strip())


def read_cnid_database(db_dir: Path, tool: str | None = None) -> CnidDatabase:
    """Read every record and the rootinfo of ``<db_dir>/cnid2.db``; errors say which file and why."""
    db_file = db_dir / PRIMARY
    if not db_file.is_file():
        raise CnidDatabaseError(f"{db_file}: no CNID database there (is `vol dbpath` right? has netatalk run?)")
    exe = tool or find_dump_tool()
    names = list_subdatabases(db_file, exe)
    if PRIMARY not in names:
        raise CnidDatabaseError(f"{db_file}: no sub-database {PRIMARY!r} (found {', '.join(names) or 'none'})")
    text = _run([exe, "-s", PRIMARY, str(db_file)], db_file)
    try:
        dumped = parse_dump(text)
        db = database_from_pairs(dumped[0].pairs) if len(dumped) == 1 else None
    except (DumpFormatError, CnidFormatError) as exc:
        raise CnidDatabaseError(f"{db_file}: unreadable CNID data ({exc}). Nothing was changed.") from exc
    if db is None:
        raise CnidDatabaseError(f"{db_file}: expected one database in the dump, got {len(dumped)}")
    return db
