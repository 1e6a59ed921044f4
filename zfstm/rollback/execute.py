"""Run one step, or undo it (shell). Every action looks at the world first, so running it twice is harmless:
that is what lets ``--resume`` simply re-run a step the journal marks as in doubt.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol

import attrs

from zfstm.errors import CnidDatabaseError, FileServerError, SafetyRefusal, ZfsError
from zfstm.netatalk import cnid_counter
from zfstm.netatalk.cniddb import PRIMARY
from zfstm.rollback.model import Step, StepKind
from zfstm.rollback.planner import BEFORE_PROP
from zfstm.runner import run_command
from zfstm.zfs.backend import ZfsBackend
from zfstm.zfs.names import DatasetName, SnapshotName


class Server(Protocol):
    """The verified file-server control (zfstm.service.verified.VerifiedFileServer or a test double)."""

    @property
    def name(self) -> str: ...

    def stop(self) -> None: ...

    def start(self) -> None: ...

    def is_running(self) -> bool: ...


class CnidOps(Protocol):
    """The CNID database operations a rollback needs (real ones: :class:`ToolCnidOps`)."""

    def read_counter(self, db_dir: str) -> int | None: ...

    def raise_counter(self, db_dir: str, minimum: int, share: str | None) -> tuple[int, int, int]: ...

    def reset(self, db_dir: str) -> list[str]: ...

    def rebuild(self, db_dir: str, share: str, *, mark: int, cnid_dev: bool, hints: bool) -> dict[str, Any]: ...

    def rescan(self, path: str) -> None: ...

    def require_quiet(self, db_dir: str) -> None: ...

    def prepare(self, db_dir: str, *, repoint: bool) -> None: ...

    def settle(self) -> None: ...


def _in_background(db_dir: Path, *, repoint: bool) -> Future[cnid_counter.Prepared]:
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnid-prepare")
    try:
        return pool.submit(cnid_counter.prepare, db_dir, repoint=repoint)
    finally:
        pool.shutdown(wait=False)


@attrs.frozen
class ToolCnidOps:
    """CnidOps through the Berkeley DB tools and netatalk's ``dbd``."""

    dbd: str = "dbd"
    _early: dict[str, Future[cnid_counter.Prepared]] = attrs.field(factory=dict, init=False, repr=False, eq=False)

    def read_counter(self, db_dir: str) -> int | None:
        return cnid_counter.read_counter(Path(db_dir))

    def raise_counter(self, db_dir: str, minimum: int, share: str | None) -> tuple[int, int, int]:
        new_dev = Path(share).stat().st_dev if share else None
        early, prepared = self._early.pop(db_dir, None), None
        if early is not None:
            with contextlib.suppress(Exception):  # raise_counter then does it again and reports its own error
                prepared = early.result()
        return cnid_counter.raise_counter(Path(db_dir), minimum, new_dev, prepared)

    def prepare(self, db_dir: str, *, repoint: bool) -> None:
        """Start raising the counter (and re-pointing the records) of ``db_dir`` in the background, as far as it
        goes without the share's new st_dev (see cnid_counter.Prepared); raise_counter picks it up."""
        if db_dir not in self._early and (Path(db_dir) / PRIMARY).is_file():
            self._early[db_dir] = _in_background(Path(db_dir), repoint=repoint)

    def settle(self) -> None:
        """Wait until nothing runs in the background: before a step is reversed (it may unmount the CNID dataset)."""
        wait(list(self._early.values()))

    def reset(self, db_dir: str) -> list[str]:
        return cnid_counter.reset_database(Path(db_dir)) if Path(db_dir).is_dir() else []

    def rebuild(self, db_dir: str, share: str, *, mark: int, cnid_dev: bool, hints: bool) -> dict[str, Any]:
        dev = Path(share).stat().st_dev if cnid_dev else 0
        done = cnid_counter.rebuild_database(Path(db_dir), Path(share), mark=mark, dev=dev, use_hints=hints)
        return {
            "mark": done.mark,
            "counter": done.counter,
            "records": len(done.records),
            "from_ea": done.from_ea,
            "from_record": done.from_record,
            "new": len(done.new),
            "new_examples": list(done.new[:5]),
            "skipped": len(done.skipped),
            "dropped": done.dropped,
        }

    def rescan(self, path: str) -> None:
        done = run_command([self.dbd, "-f", path], timeout=24 * 3600)
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip().splitlines()
            raise FileServerError(f"`dbd -f {path}` failed ({'; '.join(said[-3:])}); run it again by hand")

    def require_quiet(self, db_dir: str) -> None:
        if Path(db_dir).is_dir():
            cnid_counter.require_quiet(Path(db_dir))


@attrs.frozen
class Context:
    """What the actions work on. ``server`` is None when no file server is configured."""

    backend: ZfsBackend
    server: Server | None
    cnid: CnidOps
    db_dir: str | None = None
    is_dir: Callable[[str], bool] = attrs.field(default=lambda path: Path(path).is_dir())


def _origin(backend: ZfsBackend, dataset: str) -> str | None:
    return backend.get_properties(DatasetName(dataset), ["origin"]).get("origin")


def _exists(backend: ZfsBackend, dataset: str) -> bool:
    return backend.exists(DatasetName(dataset))


Results = Mapping[str, Mapping[str, Any]]


def _stop_server(ctx: Context, a: Mapping[str, str], _r: Results) -> dict[str, Any]:
    if ctx.server is not None:
        ctx.server.stop()
    db_dir = a.get("db_dir") or ctx.db_dir
    if db_dir:
        ctx.cnid.require_quiet(db_dir)
    return {}


def _read_counter(ctx: Context, a: Mapping[str, str], _r: Results) -> dict[str, Any]:
    return {"counter": ctx.cnid.read_counter(a["db_dir"])}


def _clone(ctx: Context, a: Mapping[str, str], _r: Results) -> dict[str, Any]:
    if _exists(ctx.backend, a["target"]):
        if _origin(ctx.backend, a["target"]) not in (a["snapshot"], None):
            raise SafetyRefusal(f"{a['target']} exists and is not a clone of {a['snapshot']}; refusing")
        return {"skipped": "exists"}
    props = {k[len("prop.") :]: v for k, v in a.items() if k.startswith("prop.")}
    ctx.backend.clone(SnapshotName.parse(a["snapshot"]), DatasetName(a["target"]), props)
    return {}


def _promote(ctx: Context, a: Mapping[str, str], _r: Results) -> dict[str, Any]:
    origin = _origin(ctx.backend, a["dataset"])
    if origin is not None and origin.startswith(a["origin_dataset"] + "@"):
        ctx.backend.promote(DatasetName(a["dataset"]))
        return {}
    return {"skipped": "already promoted"}


def _rollback(ctx: Context, a: Mapping[str, str], _r: Results) -> dict[str, Any]:
    report = ctx.backend.rollback_to(SnapshotName.parse(a["snapshot"]), destroy_newer=True)
    return {"destroyed": [n.full for n in report.destroyed]}


def _reset(ctx: Context, a: Mapping[str, str], _r: Results) -> dict[str, Any]:
    return {"removed": ctx.cnid.reset(a["db_dir"])}


def _mark(a: Mapping[str, str], results: Results) -> int:
    """The counter read before anything changed (journaled, so a resumed rollback uses the same one)."""
    wanted = results.get("read-counter", {}).get("counter")
    if wanted is None:
        raise CnidDatabaseError(
            f"{a['db_dir']}: no CNID counter was read before the rollback, so zfstm cannot make sure no CNID is "
            "handed out twice; nothing was changed in the database. Look at the journal's read-counter record"
        )
    return int(wanted)


def _raise_counter(ctx: Context, a: Mapping[str, str], results: Results) -> dict[str, Any]:
    before, after, moved = ctx.cnid.raise_counter(a["db_dir"], _mark(a, results), a.get("share"))
    return {"before": before, "after": after, "records_repointed": moved}


def _rebuild(ctx: Context, a: Mapping[str, str], results: Results) -> dict[str, Any]:
    return ctx.cnid.rebuild(
        a["db_dir"], a["share"], mark=_mark(a, results), cnid_dev=a.get("dev") != "no", hints=a.get("hints") != "no"
    )


def _start_server(ctx: Context, _a: Mapping[str, str], _r: Results) -> dict[str, Any]:
    if ctx.server is not None:
        ctx.server.start()
    return {}


def _rescan(ctx: Context, a: Mapping[str, str], _r: Results) -> dict[str, Any]:
    ctx.cnid.rescan(a["path"])
    return {}


def run_step(step: Step, ctx: Context, results: Results) -> dict[str, Any]:
    """Run ``step`` forward; returns what the journal should remember about it."""
    actions: dict[StepKind, Callable[[Context, Mapping[str, str], Results], dict[str, Any]]] = {
        StepKind.STOP_SERVER: _stop_server,
        StepKind.READ_COUNTER: _read_counter,
        StepKind.CLONE: _clone,
        StepKind.PROMOTE: _promote,
        StepKind.RENAME: lambda c, a, _r: _rename(c.backend, a),
        StepKind.ROLLBACK: _rollback,
        StepKind.RESET_CNID: _reset,
        StepKind.RAISE_COUNTER: _raise_counter,
        StepKind.REBUILD_CNID: _rebuild,
        StepKind.START_SERVER: _start_server,
        StepKind.RESCAN: _rescan,
        StepKind.VERIFY: lambda c, a, _r: _verify(c, a),
    }
    done = actions[step.kind](ctx, step.args, results)
    if "prepare" in step.args:  # the step put the CNID dataset in place: start what the raise can do early
        ctx.cnid.prepare(step.args["prepare"], repoint=step.args["prepare_kind"] == "repoint")
    return done


def _rename(backend: ZfsBackend, a: Mapping[str, str]) -> dict[str, Any]:
    old, new = a["old"], a["new"]
    old_there, new_there = _exists(backend, old), _exists(backend, new)
    if old_there and new_there:
        raise SafetyRefusal(f"both {old} and {new} exist: the swap cannot go on; look at them and rename by hand")
    if not old_there and not new_there:
        raise ZfsError("neither name exists", dataset=old, operation="rename")
    skipped = not old_there
    if old_there:
        backend.rename(DatasetName(old), DatasetName(new))
    if "mountpoint" in a:
        backend.set_property(DatasetName(new), "mountpoint", a["mountpoint"])
    if "mark_before" in a:
        backend.set_property(DatasetName(new), BEFORE_PROP, a["mark_before"])
    return {"skipped": "already renamed"} if skipped else {}


def undo_step(step: Step, ctx: Context) -> None:
    """Reverse ``step`` (only kinds outside NO_REVERSE/IRREVERSIBLE reach here)."""
    a = step.args
    backend = ctx.backend
    ctx.cnid.settle()
    if step.kind is StepKind.STOP_SERVER:
        if ctx.server is not None:
            ctx.server.start()
    elif step.kind is StepKind.CLONE:
        if _exists(backend, a["target"]) and _origin(backend, a["target"]) == a["snapshot"]:
            backend.destroy_dataset(DatasetName(a["target"]))
    elif step.kind is StepKind.PROMOTE:
        origin = _origin(backend, a["origin_dataset"])
        if origin is not None and origin.startswith(a["dataset"] + "@"):
            backend.promote(DatasetName(a["origin_dataset"]))
    elif step.kind is StepKind.RENAME:
        old, new = a["old"], a["new"]
        if _exists(backend, new) and not _exists(backend, old):
            if "mountpoint" in a and "restore_mountpoint" not in a:
                backend.set_property(DatasetName(new), "mountpoint", "none")  # out of the way; it was a clone
            backend.rename(DatasetName(new), DatasetName(old))
        if "restore_mountpoint" in a and _exists(backend, old):
            backend.set_property(DatasetName(old), "mountpoint", a["restore_mountpoint"])
    else:
        raise AssertionError(f"{step.kind} has no reverse")  # pragma: no cover


def _verify(ctx: Context, a: Mapping[str, str]) -> dict[str, Any]:
    if "mountpoint" not in a:  # a volume: the dataset is there and its export is back
        problems = [] if _exists(ctx.backend, a["dataset"]) else [f"{a['dataset']} does not exist"]
        if ctx.server is not None and not ctx.server.is_running():
            problems.append(f"{ctx.server.name} is not back")
        if problems:
            raise FileServerError("verification failed: " + "; ".join(problems))
        return {"dataset": a["dataset"]}
    props = ctx.backend.get_properties(DatasetName(a["dataset"]), ["mounted", "mountpoint"])
    problems = []
    if props.get("mounted") != "yes":
        problems.append(f"{a['dataset']} is not mounted")
    if props.get("mountpoint") != a["mountpoint"]:
        problems.append(f"{a['dataset']} is mounted at {props.get('mountpoint')}, not {a['mountpoint']}")
    elif not ctx.is_dir(a["mountpoint"]):
        problems.append(f"{a['mountpoint']} is not a directory")
    if ctx.server is not None and not ctx.server.is_running():
        problems.append(f"{ctx.server.name} is not running")
    if problems:
        raise FileServerError("verification failed: " + "; ".join(problems))
    return {"mounted": a["mountpoint"]}
