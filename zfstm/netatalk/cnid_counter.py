"""Read and raise the last-used CNID counter of a stopped Netatalk volume (shell: runs the Berkeley DB tools).

Why dump, change, load into a new file and rename, instead of writing one record in place: cnid2.db belongs to a
transactional Berkeley DB environment (``log.*``, ``__db.*``). Writing into it without that environment, or with a
stale copy of it, risks a database netatalk then refuses and silently recreates (losing every CNID). So:

1. ``db_recover -h DIR`` first, so that every committed change in the logs is in cnid2.db (a snapshot of a running
   server is only crash-consistent);
2. dump the primary, change the counter bytes of the rootinfo record (offset 20, which no secondary index covers:
   devino.db keys bytes 4..19, didname.db bytes 24.., name.db the name) and, after a swap, each record's dev, and
   rebuild devino.db from the records as netatalk's index callback would; load both into ``cnid2.db.zfstm-new``;
   copy the sub-databases that do not change straight from the dump tool into the load tool (no parsing: at
   20,000 records parsing was much of the time);
3. check the new file: every sub-database there with as many items as written or copied (``db_stat -d``), and the
   raised counter in its rootinfo;
4. remove the environment files (the new file's log sequence numbers are zero, so old logs must not be replayed
   onto it; netatalk's own wipe deletes exactly these) and rename the new file over cnid2.db, then fsync.

Netatalk must be stopped: the lock probe must find no holder of ``.AppleDB/lock``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import attrs

from zfstm.errors import CnidDatabaseError, EnvironmentMissing, FileServerError
from zfstm.netatalk.appledb import FileRole, classify, probe_lock
from zfstm.netatalk.bdbdump import DumpedDatabase, format_dump, parse_dump
from zfstm.netatalk.cnid import ROOTINFO_KEY, CnidFormatError, database_from_pairs, encode_rootinfo
from zfstm.netatalk.cnid_records import (
    BTREE_HEADER,
    devino_index,
    named,
    remap_index,
    repoint_records,
    rootinfo_of,
    with_counter,
)
from zfstm.netatalk.cniddb import EXPECTED_SUBDATABASES, PRIMARY, find_dump_tool, list_subdatabases
from zfstm.netatalk.rebuild import (
    Rebuilt,
    devino_pairs,
    didname_pairs,
    duplicate_keys,
    name_pairs,
    primary_pairs,
    rebuild_records,
)
from zfstm.netatalk.scan import scan_volume
from zfstm.runner import command_env, run_command

LOAD_TOOLS = ("db5.3_load", "db53_load", "db5_load", "db_load")
RECOVER_TOOLS = ("db5.3_recover", "db53_recover", "db5_recover", "db_recover")
STAT_TOOLS = ("db5.3_stat", "db53_stat", "db5_stat", "db_stat")
NEW_SUFFIX = ".zfstm-new"
DEVINO = "devino.db"
DIDNAME = "didname.db"
NAME = "name.db"


def _new_file(db_dir: Path) -> Path:
    """Where the new cnid2.db is built before it replaces the old one."""
    return db_dir / (PRIMARY + NEW_SUFFIX)


def _which(candidates: Sequence[str]) -> str | None:
    return next((path for path in map(shutil.which, candidates) if path), None)


def _tool(candidates: Sequence[str]) -> str:
    path = _which(candidates)
    if path:
        return path
    raise EnvironmentMissing(f"none of {', '.join(candidates)} found: install the Berkeley DB 5.3 utilities")


def _run(argv: list[str], what: Path, stdin: str | None = None) -> str:
    done = run_command(argv, timeout=900, stdin=stdin, timed_out=CnidDatabaseError)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise CnidDatabaseError(f"{what}: `{' '.join(argv[:3])} ...` failed: {'; '.join(said[-3:])}")
    return done.stdout


def require_quiet(db_dir: Path) -> None:
    """FileServerError when a process (cnid_dbd) holds the database's lock."""
    holder = probe_lock(db_dir)
    if holder is not None:
        raise FileServerError(f"{db_dir}: pid {holder.pid} holds the CNID database lock; stop netatalk first")


def recover(db_dir: Path) -> None:
    """Apply the transaction logs to cnid2.db (``db_recover``); a no-op without logs.

    The environment's region files (``__db.*``) go first: they are the shared memory of processes that are gone
    (callers made sure no cnid_dbd holds the lock), and a snapshot taken while netatalk served keeps them as they
    were, marked in use: recovery then refused to open them (seen with a database inside the share, rolled back in
    place: "PANIC: Invalid argument ... unable to find environment"). Committed changes are in the logs, which
    recovery replays.

    Before anything is read, the kernel's cached pages of the directory's files are dropped: after an in-place
    ``zfs rollback`` (OpenZFS 2.3 on Linux, seen in the testbed) a file that had been memory-mapped before (Berkeley
    DB maps its files) still read as it was before the rollback — cnid2.db showed log sequence numbers past the
    end of the rolled-back log and recovery failed ("file cnid2.db has LSN 1/404793, past end of log")."""
    _drop_cached_pages(db_dir)
    names = _names(db_dir)
    for name in names:
        if name.startswith("__db."):
            (db_dir / name).unlink()
    if any(name.startswith("log.") for name in names):
        _run([_tool(RECOVER_TOOLS), "-h", str(db_dir)], db_dir)


def _drop_cached_pages(directory: Path) -> None:
    """``posix_fadvise(DONTNEED)`` on every file in ``directory``: the next read comes from ZFS, not from pages the
    kernel kept from before a rollback (no process has them mapped: callers checked the lock)."""
    if not hasattr(os, "posix_fadvise"):  # a platform without it (macOS) has no such page cache in front of ZFS
        return
    for entry in os.scandir(directory):
        if entry.is_file(follow_symlinks=False):
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _dump(db_file: Path, subdb: str) -> DumpedDatabase:
    dumped = parse_dump(_run([find_dump_tool(), "-s", subdb, str(db_file)], db_file))
    if len(dumped) != 1:
        raise CnidDatabaseError(f"{db_file}: expected one database named {subdb} in the dump, got {len(dumped)}")
    return dumped[0]


def read_counter(db_dir: Path) -> int | None:
    """The last-used CNID of a stopped volume (after recovery); None when the database has no rootinfo yet.

    A database that is not there is an error, not a zero: zfstm derived ``db_dir`` from afp.conf, and a wrong
    derivation must stop the rollback before anything changes (seen: netatalk 3.1 keeps ``$v``'s case)."""
    db_file = db_dir / PRIMARY
    if not db_file.is_file():
        raise CnidDatabaseError(
            f"{db_file}: no CNID database there, so zfstm cannot read the highest CNID handed out; nothing was "
            "changed. Check `vol dbpath`/`vol dbnest` in afp.conf (and `zfstm cnid check`)"
        )
    require_quiet(db_dir)
    recover(db_dir)
    info = rootinfo_of(_first_pair(db_file, PRIMARY))
    return info.last_cnid if info else None


def _first_pair(db_file: Path, subdb: str) -> DumpedDatabase:
    """The sub-database's header and first key/data pair only: the rootinfo record (key 0) sorts first, so the
    counter is read without dumping every record (the dump tool is stopped after the pair)."""
    tool = find_dump_tool()
    dump = subprocess.Popen(
        [tool, "-s", subdb, str(db_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=command_env()
    )
    assert dump.stdout is not None
    lines: list[str] = []
    try:
        for line in dump.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("DATA=END") or (len(lines) > 2 and lines[-3] == "HEADER=END"):
                break
    finally:
        dump.kill()
        _, err = dump.communicate(timeout=60)
    if "HEADER=END" not in lines:
        said = "; ".join(err.strip().splitlines()[-3:])
        raise CnidDatabaseError(f"{db_file}: `{Path(tool).name} -s {subdb}` failed: {said or 'no output'}")
    if lines[-1] != "DATA=END":
        lines.append("DATA=END")
    dumped = parse_dump("\n".join(lines) + "\n")
    if len(dumped) != 1:
        raise CnidDatabaseError(f"{db_file}: expected one database named {subdb} in the dump, got {len(dumped)}")
    return dumped[0]


@attrs.frozen
class Prepared:
    """The part of re-pointing that does not depend on the share's new st_dev, done while other steps run (a
    rollback puts the CNID dataset in place first, then swaps the share): the primary's records, and the new file
    already holding the sub-databases that never change. ``state`` is the directory as it was when this was done;
    :func:`raise_counter` uses it only when the directory is still exactly so."""

    state: tuple[tuple[str, int, int], ...]
    names: tuple[str, ...]
    #: every record of the primary; only its first (the rootinfo) when the records are not re-pointed
    primary: DumpedDatabase
    #: sub-databases already in the new file with their item counts (all of them, for the counter alone)
    copied: Mapping[str, int | None]
    repoint: bool


def directory_state(db_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time of every file in ``db_dir`` but the new file being built."""
    building = _new_file(db_dir).name
    entries = (entry for entry in os.scandir(db_dir) if entry.name != building)
    return tuple(sorted((e.name, (st := e.stat()).st_size, st.st_mtime_ns) for e in entries))


def prepare_repoint(db_dir: Path) -> Prepared:
    """Recover, dump the primary and copy didname.db and name.db into the new file (netatalk must be stopped)."""
    db_file = db_dir / PRIMARY
    require_quiet(db_dir)
    recover(db_dir)
    names = list_subdatabases(db_file)
    new = _new_file(db_dir)
    new.unlink(missing_ok=True)
    load = _tool(LOAD_TOOLS)
    with ThreadPoolExecutor(max_workers=1) as copier:
        # the copy only reads cnid2.db and is the only writer of the new file until it is done
        unchanged = [name for name in names if name not in {PRIMARY, DEVINO}]
        copied = copier.submit(lambda: {name: _copy_subdatabase(db_file, name, new, load) for name in unchanged})
        try:
            primary = _dump(db_file, PRIMARY)
        except BaseException:
            wait([copied])  # never leave the copy writing into a file that is being removed
            new.unlink(missing_ok=True)
            raise
        counts = copied.result()
    return Prepared(state=directory_state(db_dir), names=tuple(names), primary=primary, copied=counts, repoint=True)


def prepare_counter(db_dir: Path) -> Prepared:
    """Only the counter will change (no record is re-pointed): recover, copy cnid2.db, make the copy stand alone
    (``db_load -r`` resets its log sequence numbers and file id, as when a database moves to another environment),
    count its items and read its rootinfo. Its cost does not grow with the number of records."""
    db_file = db_dir / PRIMARY
    require_quiet(db_dir)
    recover(db_dir)
    new = _new_file(db_dir)
    _standalone_copy(db_file, new)
    try:
        names = list_subdatabases(new)
        counts = {name: _count(new, name) for name in names}
        first = _first_pair(new, PRIMARY)
    except BaseException:
        new.unlink(missing_ok=True)
        raise
    return Prepared(state=directory_state(db_dir), names=names, primary=first, copied=counts, repoint=False)


def _standalone_copy(db_file: Path, new: Path) -> None:
    """Copy ``db_file`` to ``new`` and make the copy stand alone (``db_load -r`` resets its log sequence numbers and
    file id, as when a database moves to another environment); nothing is left at ``new`` when that fails."""
    new.unlink(missing_ok=True)
    shutil.copyfile(db_file, new)
    try:
        load = _tool(LOAD_TOOLS)
        _run([load, "-r", "lsn", str(new)], new)
        _run([load, "-r", "fileid", str(new)], new)
    except BaseException:
        new.unlink(missing_ok=True)
        raise


def prepare(db_dir: Path, *, repoint: bool) -> Prepared:
    """What :func:`raise_counter` can do before it knows the share's new st_dev (see :class:`Prepared`)."""
    return prepare_repoint(db_dir) if repoint else prepare_counter(db_dir)


def raise_counter(
    db_dir: Path, minimum: int, new_dev: int | None = None, prepared: Prepared | None = None
) -> tuple[int, int, int]:
    """Make the counter at least ``minimum`` and (with ``new_dev``) re-point the records at the share's current
    st_dev; returns (counter before, counter after, records re-pointed). Never lowers the counter. ``prepared``
    (from :func:`prepare`) is used when it was prepared for the same work and nothing in the directory changed
    since; otherwise that work is done here."""
    require_quiet(db_dir)
    repoint = new_dev is not None
    if (
        prepared is None
        or prepared.repoint != repoint
        or prepared.state != directory_state(db_dir)
        or not _new_file(db_dir).is_file()
    ):
        prepared = prepare(db_dir, repoint=repoint)
    if new_dev is not None:
        return _finish_repoint(db_dir, minimum, new_dev, prepared)
    return _finish_counter(db_dir, minimum, prepared)


def _finish_repoint(db_dir: Path, minimum: int, new_dev: int, prepared: Prepared) -> tuple[int, int, int]:
    db_file, new = db_dir / PRIMARY, _new_file(db_dir)
    changed = {PRIMARY: prepared.primary}
    info = rootinfo_of(prepared.primary)
    if info is None:
        new.unlink(missing_ok=True)
        raise CnidDatabaseError(f"{db_file}: no rootinfo record")
    moved: dict[bytes, bytes] = {}
    if DEVINO in prepared.names:
        changed[PRIMARY], moved = repoint_records(prepared.primary, new_dev)
        if moved:
            index = devino_index(changed[PRIMARY])
            changed[DEVINO] = index if index is not None else remap_index(_dump(db_file, DEVINO), moved)
    target = max(info.last_cnid, minimum)
    if target == info.last_cnid and not moved:
        new.unlink(missing_ok=True)
        return info.last_cnid, info.last_cnid, 0
    changed[PRIMARY] = with_counter(changed[PRIMARY], target)
    load = _tool(LOAD_TOOLS)
    # one load tool for both changed sub-databases: it reads one dump after the other from its input
    _run([load, str(new)], new, stdin="".join(format_dump(named(db, name)) for name, db in changed.items()))
    expected: dict[str, int | None] = {**prepared.copied, **{name: len(db.pairs) for name, db in changed.items()}}
    if DEVINO in prepared.names and DEVINO not in changed:
        expected[DEVINO] = _copy_subdatabase(db_file, DEVINO, new, load)
    _check_new(new, expected, target)
    _install(new, db_dir)
    return info.last_cnid, target, len(moved)


def _finish_counter(db_dir: Path, minimum: int, prepared: Prepared) -> tuple[int, int, int]:
    """Overwrite the one rootinfo record in the prepared copy, check, replace."""
    db_file, new = db_dir / PRIMARY, _new_file(db_dir)
    info = rootinfo_of(prepared.primary)
    if info is None:
        new.unlink(missing_ok=True)
        raise CnidDatabaseError(f"{db_file}: no rootinfo record")
    target = max(info.last_cnid, minimum)
    if target == info.last_cnid:
        new.unlink(missing_ok=True)
        return info.last_cnid, info.last_cnid, 0
    record = DumpedDatabase(BTREE_HEADER, (encode_rootinfo(attrs.evolve(info, last_cnid=target)),))
    _run([_tool(LOAD_TOOLS), str(new)], new, stdin=format_dump(named(record, PRIMARY)))
    _check_new(new, prepared.copied, target)
    _install(new, db_dir)
    return info.last_cnid, target, 0


def _install(new: Path, db_dir: Path) -> None:
    """Put the checked new file in place of cnid2.db: fsync it, remove the environment files (their logs must not
    be replayed onto it; ``lock`` stays), rename it over, fsync the directory."""
    _fsync(new)
    for name in _names(db_dir):
        if classify(name) is FileRole.DISPOSABLE and name != "lock":
            (db_dir / name).unlink()
    new.replace(db_dir / PRIMARY)
    _fsync(db_dir)


def _copy_subdatabase(db_file: Path, name: str, new: Path, load: str) -> int:
    """``dump -s NAME old | load -c database=NAME new`` without a shell or parsing; the items copied (counted in the
    stream: the old file is only ever read, and ``db_stat`` would write its count cache into it)."""
    dump_tool = find_dump_tool()
    dump = subprocess.Popen(
        [dump_tool, "-s", name, str(db_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=command_env()
    )
    loader = subprocess.Popen(
        [load, "-c", f"database={name}", str(new)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=command_env(),
    )
    assert dump.stdout is not None and dump.stderr is not None
    assert loader.stdin is not None and loader.stderr is not None
    lines, header = 0, b""
    try:
        while chunk := dump.stdout.read(1 << 16):
            if b"HEADER=END\n" not in header:
                header += chunk
            lines += chunk.count(b"\n")
            loader.stdin.write(chunk)
    except BrokenPipeError:
        pass  # the load tool gave up: its status and message follow
    finally:
        with contextlib.suppress(BrokenPipeError):
            loader.stdin.close()
        dump_err, load_err = dump.stderr.read(), loader.stderr.read()
        dump.wait(timeout=900)
        loader.wait(timeout=900)
    for tool, code, said in ((dump_tool, dump.returncode, dump_err), (load, loader.returncode, load_err)):
        if code != 0:
            new.unlink(missing_ok=True)
            told = said.decode(errors="replace").strip().splitlines()
            raise CnidDatabaseError(
                f"{db_file}: copying sub-database {name} with {Path(tool).name} failed: {'; '.join(told[-3:])}; "
                "nothing was replaced"
            )
    header_lines = header.partition(b"HEADER=END\n")[0].count(b"\n") + 1
    return (lines - header_lines - 1) // 2  # key and data lines after the header, then DATA=END


def _count(db_file: Path, name: str) -> int | None:
    """The number of data items in a sub-database (``db_stat -d``), or None without a stat tool."""
    tool = _which(STAT_TOOLS)
    if tool is None:
        return None
    for line in _run([tool, "-d", str(db_file), "-s", name], db_file).splitlines():
        number, _, label = line.partition("\t")
        if label.startswith("Number of data items") and number.strip().isdigit():
            return int(number)
    return None


def _check_new(new: Path, expected: Mapping[str, int | None], counter: int) -> None:
    """Before the new file replaces cnid2.db: every sub-database there with as many items as written or copied, and
    the rootinfo (the primary's first record) carrying the raised counter."""
    problems = []
    present = set(list_subdatabases(new))
    if set(EXPECTED_SUBDATABASES) - present:
        problems.append(f"sub-databases missing: {', '.join(sorted(set(EXPECTED_SUBDATABASES) - present))}")
    for name, count in expected.items():
        got = _count(new, name) if name in present else None
        if count is not None and got is not None and got != count:
            problems.append(f"{name} has {got} items, not {count}")
    info = rootinfo_of(_first_pair(new, PRIMARY))
    if info is None or info.last_cnid != counter:
        problems.append(f"its counter reads {info.last_cnid if info else 'nothing'}, not {counter}")
    if problems:
        new.unlink(missing_ok=True)
        raise CnidDatabaseError(
            f"{new}: the rewritten database is not as written ({'; '.join(problems)}); nothing was replaced"
        )


def _header(db_file: Path, subdb: str) -> tuple[tuple[str, str], ...]:
    """The dump header of a sub-database as netatalk created it (flags such as ``dupsort`` included)."""
    return _first_pair(db_file, subdb).header


def rebuild_database(db_dir: Path, volume_root: Path, *, mark: int, dev: int, use_hints: bool = True) -> Rebuilt:
    """Replace the volume's cnid2.db with records for exactly the files now under ``volume_root`` (netatalk
    stopped), each keeping the CNID its EA or the live database gives it, new ones above ``mark`` (the counter
    journaled before the rollback) and above anything the live database shows. The live database's stamp and
    version are kept, so EA hints stay tied to it."""
    db_file = db_dir / PRIMARY
    if not db_file.is_file():
        raise CnidDatabaseError(f"{db_file}: no CNID database to rebuild (is `vol dbpath` right?); nothing changed")
    require_quiet(db_dir)
    recover(db_dir)
    missing = set(EXPECTED_SUBDATABASES) - set(list_subdatabases(db_file))
    if missing:
        raise CnidDatabaseError(f"{db_file}: sub-databases missing: {', '.join(sorted(missing))}; nothing changed")
    live = _dump(db_file, PRIMARY)
    try:
        db = database_from_pairs(live.pairs)
    except CnidFormatError as exc:
        raise CnidDatabaseError(f"{db_file}: unreadable CNID record ({exc}); nothing changed") from exc
    if db.rootinfo is None:
        raise CnidDatabaseError(f"{db_file}: no rootinfo record; nothing changed")
    old_names = _dump(db_file, NAME)
    rebuilt = rebuild_records(db, scan_volume(volume_root), mark=mark, dev=dev, use_hints=use_hints)
    # netatalk's index callbacks index the rootinfo record too (it is a primary record like any other); Berkeley DB
    # updates those index entries whenever netatalk writes a new counter, so they must be there as it made them
    primary = [encode_rootinfo(attrs.evolve(db.rootinfo, last_cnid=rebuilt.counter)), *primary_pairs(rebuilt.records)]
    devino, didname = devino_pairs(primary), didname_pairs(primary)
    if duplicate_keys(devino) or duplicate_keys(didname):
        raise CnidDatabaseError(f"{db_file}: the rebuilt records are not unique by dev/inode or name; nothing changed")
    lowered = name_pairs(rebuilt.records, old_names.pairs, {r.cnid: r.name for r in db.records})
    lowered += [(k, c) for k, c in old_names.pairs if c == ROOTINFO_KEY] or [(b"rootinfo", ROOTINFO_KEY)]
    subdbs = {
        PRIMARY: DumpedDatabase(live.header, tuple(primary)),
        DEVINO: DumpedDatabase(_header(db_file, DEVINO), tuple(devino)),
        DIDNAME: DumpedDatabase(_header(db_file, DIDNAME), tuple(didname)),
        NAME: DumpedDatabase(old_names.header, tuple(sorted(lowered))),
    }
    new = _new_file(db_dir)
    new.unlink(missing_ok=True)
    _run([_tool(LOAD_TOOLS), str(new)], new, stdin="".join(format_dump(named(d, n)) for n, d in subdbs.items()))
    _check_new(new, {name: len(d.pairs) for name, d in subdbs.items()}, rebuilt.counter)
    _install(new, db_dir)
    return rebuilt


def copy_database(old_dir: Path, new_dir: Path) -> tuple[int, dict[str, int | None]]:
    """Copy a stopped volume's database to ``new_dir`` with Berkeley DB's own tools: recover the old environment,
    copy cnid2.db (and ``db_param``), make the copy stand alone (``db_load -r lsn``, ``-r fileid``: it joins no
    environment of the old place), then check every sub-database's item count and the counter against the old file.
    Returns (counter, item counts). The old database's records are left as they are (``db_stat`` may store its
    item-count cache in the old file)."""
    old_file = old_dir / PRIMARY
    if not old_file.is_file():
        raise CnidDatabaseError(f"{old_file}: no CNID database to copy; nothing changed")
    require_quiet(old_dir)
    recover(old_dir)
    new_dir.mkdir(parents=True, exist_ok=True)
    st = old_dir.stat()
    os.chown(new_dir, st.st_uid, st.st_gid)
    new_dir.chmod(st.st_mode & 0o7777)
    building = _new_file(new_dir)
    _standalone_copy(old_file, building)
    names = list_subdatabases(old_file)
    counts = {name: _count(old_file, name) for name in names}
    info = rootinfo_of(_first_pair(old_file, PRIMARY))
    if info is None:
        building.unlink(missing_ok=True)
        raise CnidDatabaseError(f"{old_file}: no rootinfo record; nothing changed")
    _check_new(building, counts, info.last_cnid)
    if (old_dir / "db_param").is_file():
        shutil.copy2(old_dir / "db_param", new_dir / "db_param")
    file_st = old_file.stat()
    os.chown(building, file_st.st_uid, file_st.st_gid)
    building.chmod(file_st.st_mode & 0o7777)
    _install(building, new_dir)
    return info.last_cnid, counts


def reset_database(db_dir: Path) -> list[str]:
    """The last resort: delete cnid2.db and the disposable files (netatalk rebuilds on start). Returns the names."""
    require_quiet(db_dir)
    removed = []
    for name in sorted(_names(db_dir)):
        if name == PRIMARY or classify(name) is FileRole.DISPOSABLE:
            (db_dir / name).unlink()
            removed.append(name)
    _fsync(db_dir)
    return removed


def _names(directory: Path) -> list[str]:
    return [entry.name for entry in directory.iterdir()]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
