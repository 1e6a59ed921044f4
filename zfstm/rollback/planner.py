"""Plan a rollback from facts: which snapshot, which CNID strategy and why, what happens to newer snapshots, and
the ordered steps. Pure: no ZFS, no processes, no clock (the time stamp comes in with the facts).

Every refusal happens here, before anything is stopped: an unknown snapshot, a held newer snapshot that
``--discard-newer`` would have to destroy, a dataset the name swap cannot handle (children, legacy mountpoint).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from zfstm.config.model import FileServerKind
from zfstm.errors import SafetyRefusal, UsageError
from zfstm.rollback.model import (
    ISCSI,
    CnidStrategy,
    DatasetFacts,
    Mode,
    RollbackFacts,
    RollbackPlan,
    RollbackRequest,
    Step,
    StepKind,
)
from zfstm.snapshots.tags import ROLLBACK_BEFORE
from zfstm.zfs.names import DatasetName

#: Local properties a clone must not be given (set at creation only, or handled separately by the swap).
NOT_COPIED = frozenset(
    {
        "mountpoint",
        "encryption",
        "keyformat",
        "keylocation",
        "pbkdf2iters",
        "casesensitivity",
        "normalization",
        "utf8only",
        "volsize",
        "volblocksize",
        "zoned",
        ROLLBACK_BEFORE,
    }
)
#: The user property that tells --undo which dataset an earlier rollback kept.
BEFORE_PROP = ROLLBACK_BEFORE
UNMOUNTABLE = frozenset({"legacy", "none", "-"})


def choose_snapshot(facts: RollbackFacts, request: RollbackRequest) -> str:
    """The short name of the snapshot to roll back to (``--to`` or the newest known-good one)."""
    data = facts.data
    if request.to and request.last_good:
        raise UsageError("give either --to SNAPSHOT or --last-good, not both")
    if request.to:
        text = request.to
        if "@" in text:
            dataset, _, short = text.partition("@")
            if dataset != data.name.full:
                raise UsageError(f"snapshot {text} is not a snapshot of {data.name} (target {facts.target})")
            text = short
        if data.createtxg(text) is None:
            shown = ", ".join(s for s, _ in data.snapshots[-5:]) or "none"
            raise UsageError(f"{data.name}@{text} does not exist (newest snapshots: {shown}); pick one with --to")
        return text
    if request.last_good:
        held = [(txg, s) for s, txg in data.snapshots if s in facts.known_good]
        if not held:
            raise SafetyRefusal(
                f"{data.name} has no known-good snapshot (hold zfstm-known-good): pick a snapshot with --to"
            )
        return max(held)[1]
    raise UsageError("say where to roll back to: --to SNAPSHOT or --last-good (or --undo to swap back)")


def choose_strategy(  # noqa: PLR0911 - one return per documented case
    facts: RollbackFacts, snapshot: str | None, forced: CnidStrategy | None
) -> tuple[CnidStrategy, str, str | None]:
    """(strategy, why, paired CNID snapshot short name or None)."""
    if facts.server != FileServerKind.NETATALK:
        why = {FileServerKind.SAMBA: "Samba keeps no CNID database", ISCSI: "a volume has no CNID database"}.get(
            facts.server, "no file server in front of the share"
        )
        if forced not in (None, CnidStrategy.NONE):
            raise UsageError(f"--cnid-strategy {forced} needs a Netatalk share; {why}")
        return CnidStrategy.NONE, why, None
    cnid = facts.cnid
    if cnid is None:
        raise SafetyRefusal(
            f"target {facts.target}: no afp.conf volume serves {facts.data.mountpoint}; zfstm cannot tell where its "
            "CNID database lives, so it will not roll back (fix afp_conf in the configuration)"
        )
    if cnid.scheme != "dbd":
        return CnidStrategy.NONE, f"cnid scheme = {cnid.scheme} keeps no database on disk", None
    if forced is CnidStrategy.NONE:
        raise UsageError(f"volume {cnid.volume} has a CNID database: --cnid-strategy none would leave it stale")
    if not cnid.db_exists:
        raise SafetyRefusal(
            f"target {facts.target}: volume {cnid.volume} has no CNID database at {cnid.db_dir} "
            f"({cnid.derived or 'from afp.conf'}); "
            "zfstm will not roll back a share whose database it cannot find, since it could not keep its CNIDs or "
            "its counter. Check `vol dbpath`/`vol dbnest` in afp.conf and that netatalk has served the volume"
        )
    if _within(cnid.db_dir, facts.data.mountpoint):
        if forced not in (None, CnidStrategy.PAIRED):
            return _forced(forced, "the database lies inside the share")
        return (
            CnidStrategy.PAIRED,
            f"{cnid.db_dir} lies inside the share: it rolls back with the files (the snapshot's own database); "
            "its counter is then raised to the highest CNID handed out before",
            None,
        )
    paired, why_not = _paired_snapshot(facts, snapshot)
    if forced is CnidStrategy.PAIRED and paired is None:
        raise SafetyRefusal(f"--cnid-strategy paired is impossible: {why_not}")
    if forced in (CnidStrategy.RESET, CnidStrategy.RESCAN, CnidStrategy.REBUILD):
        assert forced is not None
        return _forced(forced, why_not or "paired was possible")
    if paired is None:
        return (
            CnidStrategy.REBUILD,
            f"{why_not}; zfstm rewrites the volume's records for the rolled-back files: each keeps the CNID its "
            "metadata EA or the live database gives it, and none is handed out again",
            None,
        )
    return (
        CnidStrategy.PAIRED,
        (
            f"{cnid.db_dir} lives on {facts.cnid_dataset.name if facts.cnid_dataset else '?'}, snapshotted in the same "
            f"transaction group as the data ({paired}): both roll back together, no rescan"
        ),
        paired,
    )


def _forced(forced: CnidStrategy, context: str) -> tuple[CnidStrategy, str, None]:
    what = {
        CnidStrategy.RESET: "the last resort: every file and directory gets a new CNID above the counter",
        CnidStrategy.RESCAN: "`dbd -f` after the counter is raised: CNIDs come back only from EA hints that match",
        CnidStrategy.REBUILD: "records rewritten from the metadata EAs and the live database",
    }[forced]
    return forced, f"forced with --cnid-strategy {forced} ({context}): {what}", None


def _paired_snapshot(facts: RollbackFacts, snapshot: str | None) -> tuple[str | None, str]:  # noqa: PLR0911
    """The CNID dataset's snapshot taken in the same txg as ``snapshot``, or None and why not."""
    cnid, cds = facts.cnid, facts.cnid_dataset
    assert cnid is not None
    if cds is None:
        return None, f"the volume's database {cnid.db_dir} is not on a CNID dataset of this target"
    if not _within(cnid.db_dir, cds.mountpoint):
        return None, f"the volume's database {cnid.db_dir} is not on the CNID dataset {cds.name} ({cds.mountpoint})"
    if cnid.others_on_cnid_dataset:
        return None, (
            f"{cds.name} also holds the databases of {', '.join(cnid.others_on_cnid_dataset)}, which a rollback of "
            "it would roll back too"
        )
    if facts.data.name == cds.name or cds.name.is_ancestor_of(facts.data.name):
        return None, f"the CNID dataset {cds.name} contains the share itself"
    if snapshot is None:  # undo: the CNID dataset must have been swapped by the same rollback
        if cds.rollback_before and facts.cnid_before is not None:
            return cds.rollback_before, "kept CNID dataset"
        return None, f"{cds.name} was not swapped by the rollback being undone"
    txg = facts.data.createtxg(snapshot)
    twin = next((s for s, t in cds.snapshots if t == txg), None)
    if twin is None:
        return None, (
            f"{cds.name} has no snapshot from the same transaction group as {facts.data.name}@{snapshot} "
            f"(createtxg {txg}): data and database were not snapshotted together"
        )
    return twin, ""


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def replica_refusal(target: str) -> SafetyRefusal:
    """Why a replica target is never rolled back."""
    return SafetyRefusal(
        f"target {target} is a replica (replica = true): its history belongs to the replication that fills it, and "
        "zfstm never rolls it back; roll back the source and replicate again (docs/replication.md)"
    )


def plan_rollback(facts: RollbackFacts, request: RollbackRequest) -> RollbackPlan:
    """The plan for ``request`` on ``facts``, or SafetyRefusal/UsageError before anything is touched."""
    if facts.replica:
        raise replica_refusal(facts.target)
    if request.mode is Mode.UNDO:
        return _plan_undo(facts, request)
    snapshot = choose_snapshot(facts, request)
    strategy, why, cnid_snapshot = choose_strategy(facts, snapshot, request.strategy)
    data = facts.data
    newer = data.newer_than(snapshot)
    cnid_newer = facts.cnid_dataset.newer_than(cnid_snapshot) if facts.cnid_dataset and cnid_snapshot else ()
    held = {f"{data.name}@{s}": data.holds[s] for s in newer if data.holds.get(s)}
    if facts.cnid_dataset is not None:
        held.update(
            {f"{facts.cnid_dataset.name}@{s}": facts.cnid_dataset.holds[s] for s in cnid_newer if
             facts.cnid_dataset.holds.get(s)}
        )  # fmt: skip
    warnings = list(_warnings(facts, strategy))
    rolled = [(data, snapshot)]
    if strategy is CnidStrategy.PAIRED and facts.cnid_dataset and cnid_snapshot:
        rolled.append((facts.cnid_dataset, cnid_snapshot))
    warnings += _bookmark_effects(rolled, request.mode, facts.stamp)
    steps: list[Step] = []
    kept_as = cnid_kept_as = None
    if request.mode is Mode.DISCARD:
        if held:
            raise SafetyRefusal(
                "--discard-newer would destroy held snapshots: "
                + "; ".join(f"{n} (holds: {', '.join(t)})" for n, t in held.items())
                + ". Release the holds first (zfs release TAG SNAPSHOT), or leave out --discard-newer to keep them"
            )
        steps += _stop(facts, strategy)
        if strategy is CnidStrategy.PAIRED and facts.cnid_dataset and cnid_snapshot:
            steps.append(_rollback_step("cnid", facts.cnid_dataset.name, cnid_snapshot, _prepare(facts)))
        steps.append(_rollback_step("data", data.name, snapshot))
        outcome_keep = f"{len(newer)} newer snapshot(s) destroyed"
        steps += _after(facts, strategy)
    else:
        _check_swappable(data, volume=facts.server == ISCSI)
        kept_as = f"{data.name}.before-rollback-{facts.stamp}"
        steps += _stop(facts, strategy)
        if strategy is CnidStrategy.PAIRED and facts.cnid_dataset and cnid_snapshot:
            _check_swappable(facts.cnid_dataset)
            cnid_kept_as = f"{facts.cnid_dataset.name}.before-rollback-{facts.stamp}"
            steps += _swap_steps("cnid", facts.cnid_dataset, cnid_snapshot, facts.stamp, _prepare(facts))
        steps += _swap_steps("data", data, snapshot, facts.stamp)
        outcome_keep = f"the current state and {len(newer)} newer snapshot(s) stay reachable in {kept_as}"
        steps += _after(facts, strategy)
    warnings += [note for ds, short in rolled if (note := replication_note(ds, short, ds.newer_than(short)))]
    holder = f"the volume {data.name}" if facts.server == ISCSI else facts.data.mountpoint
    outcome = (
        f"{holder} holds exactly what {data.name}@{snapshot} held; {outcome_keep}; "
        + _cnid_outcome(strategy)
        + (f"; {facts.server_name} serves the share again" if facts.server != FileServerKind.NONE else "")
    )
    return RollbackPlan(
        target=facts.target,
        mode=request.mode,
        dataset=data.name.full,
        snapshot=f"{data.name}@{snapshot}",
        cnid_snapshot=f"{facts.cnid_dataset.name}@{cnid_snapshot}" if facts.cnid_dataset and cnid_snapshot else None,
        strategy=strategy,
        strategy_reason=why,
        server=facts.server_name if facts.server != FileServerKind.NONE else "none",
        newer=tuple(f"{data.name}@{s}" for s in newer),
        newer_held=held,
        kept_as=kept_as,
        cnid_kept_as=cnid_kept_as,
        steps=tuple(steps),
        warnings=tuple(warnings),
        outcome=outcome,
    )


def _plan_undo(facts: RollbackFacts, request: RollbackRequest) -> RollbackPlan:
    data, before = facts.data, facts.before
    if data.rollback_before is None or before is None:
        raise SafetyRefusal(
            f"{data.name} carries no {BEFORE_PROP} (or the dataset it names is gone): there is no rollback to undo"
        )
    if before.origin is None or not before.origin.startswith(f"{data.name}@"):
        raise SafetyRefusal(
            f"{before.name} is not a clone of a snapshot of {data.name} (origin {before.origin}); refusing to swap"
        )
    strategy, why, _ = choose_strategy(facts, None, request.strategy)
    _check_swappable(data)
    steps = _stop(facts, strategy)
    steps += _unswap_steps("data", data, before, facts.stamp)
    if strategy is CnidStrategy.PAIRED and facts.cnid_dataset is not None and facts.cnid_before is not None:
        steps += _unswap_steps("cnid", facts.cnid_dataset, facts.cnid_before, facts.stamp)
    steps += _after(facts, strategy)
    rolled = f"{data.name}.rolled-back-{facts.stamp}"
    return RollbackPlan(
        target=facts.target,
        mode=Mode.UNDO,
        dataset=data.name.full,
        snapshot=None,
        cnid_snapshot=None,
        strategy=strategy,
        strategy_reason=why,
        server=facts.server_name if facts.server != FileServerKind.NONE else "none",
        newer=(),
        newer_held={},
        kept_as=rolled,
        cnid_kept_as=f"{facts.cnid_dataset.name}.rolled-back-{facts.stamp}"
        if strategy is CnidStrategy.PAIRED and facts.cnid_dataset
        else None,
        steps=tuple(steps),
        warnings=tuple(_warnings(facts, strategy)),
        outcome=f"{before.name} is {data.name} again; what the rollback produced stays in {rolled}; "
        + _cnid_outcome(strategy),
    )


def _bookmark_effects(rolled: Sequence[tuple[DatasetFacts, str]], mode: Mode, stamp: str) -> list[str]:
    """Bookmarks newer than the snapshot rolled back to: a rollback in place is refused (ZFS would refuse it after
    the newer snapshots were destroyed, and zfstm never destroys bookmarks); a swap leaves them on the kept dataset,
    which the plan says."""
    marks = {f"{ds.name}#{m}": ds for ds, short in rolled for m in ds.bookmarks_newer_than(short)}
    if not marks:
        return []
    if mode is Mode.DISCARD:
        raise SafetyRefusal(
            f"--discard-newer cannot roll back past the bookmark(s) {', '.join(marks)}: ZFS refuses a rollback "
            "while a newer bookmark exists, and zfstm never destroys bookmarks (a replication engine may need them "
            "as its incremental base, e.g. zrepl's cursor). Leave out --discard-newer (the swap keeps them on the "
            "kept dataset), or destroy them yourself if nothing replicates from them"
        )
    kept = ", ".join(sorted({f"{ds.name}.before-rollback-{stamp}" for ds in marks.values()}))
    return [
        f"bookmark(s) {', '.join(marks)} are newer than the snapshot rolled back to: they stay with the kept "
        f"dataset ({kept}), not with the dataset under its name, so a replication that used them as its incremental "
        "base must start from an older common snapshot (older bookmarks move along with the promote)"
    ]


#: Snapshot name prefixes that replication engines make by default: syncoid's sync snapshots, zrepl's snapshots.
REPLICATION_PREFIXES = ("syncoid_", "zrepl_")


def replication_note(ds: DatasetFacts, snapshot: str, newer: Sequence[str]) -> str | None:
    """What the next replication of ``ds`` needs once it is rolled back to ``snapshot``, when ``ds`` shows signs of
    being replicated (a syncoid or zrepl snapshot, or a bookmark) and the rollback rewrites history (newer
    snapshots exist). None otherwise."""
    engine = [s for s, _ in ds.snapshots if s.startswith(REPLICATION_PREFIXES)]
    if not newer or not (engine or ds.bookmarks):
        return None
    evidence = f"snapshot {engine[-1]}" if engine else f"bookmark #{ds.bookmarks[-1][0]}"
    shown = ", ".join(newer[:3]) + (f" and {len(newer) - 3} more" if len(newer) > 3 else "")
    return (
        f"replication: {ds.name} looks replicated ({evidence}). Afterwards it shares at most @{snapshot} with a "
        f"replica; a replica that received any of the {len(newer)} newer snapshot(s) ({shown}) has diverged and "
        f"must be rolled back to the newest snapshot both still have before the next incremental: syncoid does "
        f"that itself (it rolls the target back to the newest common snapshot; not with --no-rollback); for zrepl "
        f"or zfs send | zfs receive run `zfs rollback -r REPLICA@{snapshot}` on the replica. With no common "
        f"snapshot left only a full send helps (syncoid --force-delete destroys the replica first)"
    )


def _check_swappable(ds: DatasetFacts, *, volume: bool = False) -> None:
    """A volume has no mountpoint to take over: its export is recreated on the swapped zvol's device instead."""
    if ds.has_children:
        raise SafetyRefusal(
            f"{ds.name} has child datasets, which renaming it would carry along; use --discard-newer (destroys the "
            "newer snapshots) or roll back the children yourself"
        )
    if ds.mountpoint in UNMOUNTABLE and not volume:
        raise SafetyRefusal(
            f"{ds.name} has mountpoint={ds.mountpoint}: zfstm cannot mount the swapped dataset in its place; "
            "use --discard-newer"
        )


def _warnings(facts: RollbackFacts, strategy: CnidStrategy) -> list[str]:
    out = []
    if strategy is CnidStrategy.RESCAN and facts.cnid is not None and facts.cnid.cnid_dev:
        out.append(
            f"volume {facts.cnid.volume} has `cnid dev = yes` (the default): netatalk trusts a file's CNID hint only "
            "while st_dev matches, and a remount (a swapped dataset; any rollback on illumos) changes st_dev, so "
            "CNIDs may change. Fix: add `cnid dev = no` to the volume's section in afp.conf, or leave out "
            "--cnid-strategy (zfstm then rebuilds the records itself and keeps them)"
        )
    if strategy is CnidStrategy.RESET:
        out.append(
            "reset gives every file and directory a new CNID (above every CNID handed out before: none is reused); "
            "aliases and anything else a Mac remembers by CNID stop resolving"
        )
    if facts.journal_on_tmpfs:
        out.append(
            "the state directory holding the rollback journal is RAM-backed (/run, /tmp): after a reboot "
            "`zfstm rollback --resume` cannot find it; set state_dir to persistent storage"
        )
    return out


def _cnid_outcome(strategy: CnidStrategy) -> str:
    return {
        CnidStrategy.PAIRED: "the CNID database is the one from the same moment, its counter no lower than before",
        CnidStrategy.REBUILD: (
            "the CNID database holds a record for every rolled-back file and directory, with the CNID its EA or the "
            "live database gave it; the counter is above every CNID handed out before"
        ),
        CnidStrategy.RESCAN: "the CNID database is rebuilt by `dbd -f` from EA hints, counter kept",
        CnidStrategy.RESET: "every file and directory has a new CNID, above every CNID handed out before",
        CnidStrategy.NONE: "no CNID database to repair",
    }[strategy]


def _stop(facts: RollbackFacts, strategy: CnidStrategy) -> list[Step]:
    steps = []
    if facts.server != FileServerKind.NONE:
        watched = {"share": facts.data.mountpoint}
        if facts.cnid is not None:
            watched["db_dir"] = facts.cnid.db_dir
        steps.append(
            Step("stop-server", StepKind.STOP_SERVER, f"stop {facts.server_name}; confirm nothing holds it", watched)
        )
    if strategy is not CnidStrategy.NONE and facts.cnid is not None:  # the mark no CNID may fall back below
        steps.append(
            Step(
                "read-counter",
                StepKind.READ_COUNTER,
                f"read the last-used CNID from {facts.cnid.db_dir}",
                {"db_dir": facts.cnid.db_dir},
            )
        )
    return steps


def _after(facts: RollbackFacts, strategy: CnidStrategy) -> list[Step]:
    """The steps after the datasets are in place. With ``cnid dev = yes`` the records are re-pointed at the share's
    current ``st_dev``: the snapshot's records carry the dev of the mount *at snapshot time*, and any mount since (a
    swap, an earlier rollback, a reboot) has another, also when this rollback is in place (seen in the testbed). With
    ``cnid dev = no`` records carry no dev and only the counter is raised."""
    steps: list[Step] = []
    cnid = facts.cnid
    if strategy in (CnidStrategy.REBUILD, CnidStrategy.RESET) and cnid is not None:
        hints = strategy is CnidStrategy.REBUILD
        summary = (
            f"rewrite the CNID records of {cnid.volume} for the rolled-back files "
            + ("(CNIDs from their EAs and the live database)" if hints else "(all new CNIDs)")
            + "; counter above every CNID handed out before"
        )
        args = {"db_dir": cnid.db_dir, "share": facts.data.mountpoint, "hints": "yes" if hints else "no"}
        steps.append(
            Step("rebuild-cnid", StepKind.REBUILD_CNID, summary, args | {"dev": "yes" if cnid.cnid_dev else "no"})
        )
    if strategy is CnidStrategy.PAIRED and cnid is not None:
        if cnid.cnid_dev:
            summary = "raise the CNID counter to its pre-rollback value; re-point records at the share's new st_dev"
            args = {"db_dir": cnid.db_dir, "share": facts.data.mountpoint}
        else:
            summary, args = "raise the CNID counter to its pre-rollback value", {"db_dir": cnid.db_dir}
        steps.append(Step("raise-counter", StepKind.RAISE_COUNTER, summary, args))
    if strategy is CnidStrategy.RESCAN and cnid is not None:  # `dbd -f` keeps the counter it finds: raise it first
        steps.append(
            Step("raise-counter", StepKind.RAISE_COUNTER, "raise the CNID counter to its pre-rollback value",
                 {"db_dir": cnid.db_dir})
        )  # fmt: skip
    if facts.server != FileServerKind.NONE:
        steps.append(Step("start-server", StepKind.START_SERVER, f"start {facts.server_name}; wait until it answers"))
    if strategy is CnidStrategy.RESCAN:
        steps.append(
            Step("rescan", StepKind.RESCAN, f"dbd -f {facts.data.mountpoint}", {"path": facts.data.mountpoint})
        )
    if facts.server == ISCSI:
        steps.append(
            Step("verify", StepKind.VERIFY, f"{facts.data.name} exists; {facts.server_name} is back",
                 {"dataset": facts.data.name.full, "server": facts.server})
        )  # fmt: skip
        return steps
    steps.append(
        Step(
            "verify",
            StepKind.VERIFY,
            f"{facts.data.name} mounted at {facts.data.mountpoint}"
            + (f"; {facts.server_name} answers" if facts.server != FileServerKind.NONE else ""),
            {"dataset": facts.data.name.full, "mountpoint": facts.data.mountpoint, "server": facts.server},
        )
    )
    return steps


def _props(local: Mapping[str, str]) -> dict[str, str]:
    return {f"prop.{k}": v for k, v in sorted(local.items()) if k not in NOT_COPIED}


def _prepare(facts: RollbackFacts) -> dict[str, str]:
    """For the step that puts the CNID dataset in place: start, in the background, the part of raising the counter
    (and re-pointing the records) that does not need the share's new st_dev (recovering, dumping, copying), so that
    it runs while the share is swapped. That is why the CNID dataset goes first."""
    if facts.cnid is None:
        return {}
    return {"prepare": facts.cnid.db_dir, "prepare_kind": "repoint" if facts.cnid.cnid_dev else "counter"}


def _swap_steps(
    role: str, ds: DatasetFacts, snapshot: str, stamp: str, after_install: Mapping[str, str] | None = None
) -> list[Step]:
    """Clone the snapshot, promote the clone, retire the current dataset, install the clone under its name.

    The clone is born with the mark that names the kept dataset for ``--undo`` (one ``zfs`` process fewer than
    setting it after the install rename; plans journaled with an install ``mark_before`` still resume)."""
    name = ds.name
    fresh = DatasetName(f"{name}.rollback-{stamp}")
    kept = DatasetName(f"{name}.before-rollback-{stamp}")
    local_mp = ds.local_props.get("mountpoint")
    retire = {"old": name.full, "new": kept.full}
    install = {"old": fresh.full, "new": name.full, **(after_install or {})}
    if local_mp is not None:
        retire |= {"mountpoint": f"{local_mp}.before-rollback-{stamp}", "restore_mountpoint": local_mp}
        install |= {"mountpoint": local_mp}
    return [
        Step(f"clone-{role}", StepKind.CLONE, f"clone {name}@{snapshot} as {fresh} with {name}'s local properties",
             {"snapshot": f"{name}@{snapshot}", "target": fresh.full, **_props(ds.local_props),
              f"prop.{BEFORE_PROP}": kept.full}),
        Step(f"promote-{role}", StepKind.PROMOTE, f"promote {fresh} (older snapshots move to it)",
             {"dataset": fresh.full, "origin_dataset": name.full}),
        Step(f"retire-{role}", StepKind.RENAME, f"rename {name} to {kept} (keeps the newer snapshots)", retire),
        Step(f"install-{role}", StepKind.RENAME, f"rename {fresh} to {name}", install),
    ]  # fmt: skip


def _unswap_steps(role: str, ds: DatasetFacts, before: DatasetFacts, stamp: str) -> list[Step]:
    """Undo a swap: promote the kept dataset back, retire the rolled-back one, give the kept one its name again."""
    name = ds.name
    rolled = DatasetName(f"{name}.rolled-back-{stamp}")
    local_mp = ds.local_props.get("mountpoint")
    retire = {"old": name.full, "new": rolled.full}
    install = {"old": before.name.full, "new": name.full}
    if local_mp is not None:
        retire |= {"mountpoint": f"{local_mp}.rolled-back-{stamp}", "restore_mountpoint": local_mp}
        install |= {"mountpoint": local_mp}
        if "mountpoint" in before.local_props:
            install |= {"restore_mountpoint": before.local_props["mountpoint"]}
    return [
        Step(f"promote-{role}", StepKind.PROMOTE, f"promote {before.name} (its snapshots come back to it)",
             {"dataset": before.name.full, "origin_dataset": name.full}),
        Step(f"retire-{role}", StepKind.RENAME, f"rename {name} to {rolled}", retire),
        Step(f"install-{role}", StepKind.RENAME, f"rename {before.name} to {name}", install),
    ]  # fmt: skip


def _rollback_step(role: str, dataset: DatasetName, snapshot: str, after: Mapping[str, str] | None = None) -> Step:
    return Step(
        f"rollback-{role}",
        StepKind.ROLLBACK,
        f"destroy the snapshots newer than {dataset}@{snapshot} in one batch, then roll back",
        {"snapshot": f"{dataset}@{snapshot}", **(after or {})},
    )
