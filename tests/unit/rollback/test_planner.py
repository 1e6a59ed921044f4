"""The rollback planner: target choice, CNID strategy and its reason, newer snapshots and holds, refusals."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.rollback.world import CNID, DATA, facts_of, make_world
from zfstm.errors import SafetyRefusal, UsageError
from zfstm.rollback.model import (
    CnidStrategy,
    DatasetFacts,
    Mode,
    RollbackFacts,
    RollbackPlan,
    RollbackRequest,
    StepKind,
)
from zfstm.rollback.planner import plan_rollback
from zfstm.rollback.render import plan_json, plan_text
from zfstm.zfs.names import DatasetName, HoldTag


def test_last_good_picks_the_known_good_snapshot_and_pairs_the_cnid_snapshot() -> None:
    """--last-good rolls back to the snapshot held as known-good; the CNID twin from the same txg makes it paired."""
    plan = plan_rollback(facts_of(make_world()), RollbackRequest("tm", last_good=True))
    assert plan.snapshot == "tank/tm@s1"
    assert plan.cnid_snapshot == "tank/cnid@s1"
    assert plan.strategy is CnidStrategy.PAIRED
    assert plan.newer == ("tank/tm@s2", "tank/tm@s3")
    assert dict(plan.newer_held) == {"tank/tm@s3": ("backup-keep",)}
    assert plan.kept_as == "tank/tm.before-rollback-20261128T030000Z"


def test_paired_swap_steps_are_ordered_stop_read_swap_raise_start_verify() -> None:
    """The server stops first, the counter is read before any ZFS change and raised before the server starts; the
    CNID dataset is swapped before the share, and its install starts preparing the re-pointing (cnid dev = yes)."""
    plan = plan_rollback(facts_of(make_world()), RollbackRequest("tm", last_good=True))
    assert [s.id for s in plan.steps] == [
        "stop-server", "read-counter",
        "clone-cnid", "promote-cnid", "retire-cnid", "install-cnid",
        "clone-data", "promote-data", "retire-data", "install-data",
        "raise-counter", "start-server", "verify",
    ]  # fmt: skip
    assert [s.id for s in plan.steps if "prepare" in s.args] == ["install-cnid"]
    assert plan.step("install-cnid").args["prepare"] == plan.step("raise-counter").args["db_dir"]
    assert plan.step("install-cnid").args["prepare_kind"] == "counter"  # cnid dev = no: nothing to re-point
    repointing = plan_rollback(facts_of(make_world(), cnid_dev=True), RollbackRequest("tm", last_good=True))
    assert repointing.step("install-cnid").args["prepare_kind"] == "repoint"


def test_clone_gets_the_local_properties_but_not_the_mountpoint() -> None:
    """Clones do not inherit the origin's local properties: the plan copies them (mountpoint handled by renames)."""
    plan = plan_rollback(facts_of(make_world(local_mountpoint=True)), RollbackRequest("tm", to="s2"))
    clone = plan.step("clone-data")
    assert clone.args["prop.compression"] == "lz4"
    assert clone.args["prop.refquota"] == "1073741824"
    assert clone.args["prop.zfstm:note"] == "tm share"
    assert "prop.mountpoint" not in clone.args
    retire, install = plan.step("retire-data"), plan.step("install-data")
    assert retire.args["mountpoint"] == "/srv/tm.before-rollback-20261128T030000Z"
    assert install.args["mountpoint"] == "/srv/tm"


def test_txg_mismatch_falls_back_to_rebuild_and_says_why() -> None:
    """A snapshot whose CNID twin is missing (not taken in the same txg) gets the rebuild strategy, with the reason:
    the mark is read before any change, the records are rewritten before the server starts, no rescan."""
    plan = plan_rollback(facts_of(make_world()), RollbackRequest("tm", to="s3"))
    assert plan.strategy is CnidStrategy.REBUILD
    assert "same transaction group" in plan.strategy_reason
    ids = [s.id for s in plan.steps]
    assert ids[:2] == ["stop-server", "read-counter"]
    assert ids[-3:] == ["rebuild-cnid", "start-server", "verify"]
    assert "clone-cnid" not in ids
    rebuild = plan.step("rebuild-cnid")
    assert rebuild.args["share"] == "/tank/tm" and rebuild.args["hints"] == "yes" and rebuild.args["dev"] == "no"


def test_forced_rescan_raises_the_counter_before_the_server_starts() -> None:
    """--cnid-strategy rescan: `dbd -f` keeps the counter it finds, so the counter read before the rollback is put
    back first; nothing of the old rescan ordering is lost."""
    plan = plan_rollback(facts_of(make_world()), RollbackRequest("tm", to="s3", strategy=CnidStrategy.RESCAN))
    assert plan.strategy is CnidStrategy.RESCAN
    ids = [s.id for s in plan.steps]
    assert ids[:2] == ["stop-server", "read-counter"]
    assert ids[-4:] == ["raise-counter", "start-server", "rescan", "verify"]
    assert "share" not in plan.step("raise-counter").args


def test_forced_reset_rewrites_every_record_new_above_the_mark() -> None:
    """--cnid-strategy reset: no database is deleted any more; every entry gets a new CNID above the mark."""
    plan = plan_rollback(facts_of(make_world()), RollbackRequest("tm", last_good=True, strategy=CnidStrategy.RESET))
    assert plan.strategy is CnidStrategy.RESET
    assert plan.step("rebuild-cnid").args["hints"] == "no"
    assert StepKind.RESET_CNID not in {s.kind for s in plan.steps}
    assert "read-counter" in [s.id for s in plan.steps]
    assert any("none is reused" in w for w in plan.warnings)


def test_database_inside_the_share_rolls_back_with_it() -> None:
    """`vol dbnest = yes` or a dbpath under the share: the snapshot's own database comes back with the files, so the
    plan is paired without a CNID dataset: counter read before, raised (and re-pointed) after."""
    facts = facts_of(make_world(), cnid_dev=True)
    assert facts.cnid is not None
    facts = attrs.evolve(facts, cnid=attrs.evolve(facts.cnid, db_dir="/tank/tm/.AppleDB"), cnid_dataset=None)
    for mode in (Mode.SWAP, Mode.DISCARD):
        world = make_world()
        world.release([DATA.snapshot("s3")], HoldTag("backup-keep"))
        base = facts_of(world, cnid_dev=True)
        inshare = attrs.evolve(base, cnid=facts.cnid, cnid_dataset=None)
        plan = plan_rollback(inshare, RollbackRequest("tm", to="s1", mode=mode))
        assert plan.strategy is CnidStrategy.PAIRED, plan.strategy_reason
        assert "inside the share" in plan.strategy_reason
        ids = [s.id for s in plan.steps]
        assert ids[:2] == ["stop-server", "read-counter"] and ids[-3:] == ["raise-counter", "start-server", "verify"]
        assert not any(i.endswith("-cnid") for i in ids)
        assert plan.step("raise-counter").args == {"db_dir": "/tank/tm/.AppleDB", "share": "/tank/tm"}


def test_a_database_that_is_not_there_is_refused_before_anything() -> None:
    """zfstm derived the database's place from afp.conf; when nothing is there the plan refuses (it would otherwise
    read no counter and keep no CNID), naming the path and how it was derived."""
    facts = facts_of(make_world())
    assert facts.cnid is not None
    missing = attrs.evolve(facts.cnid, db_exists=False, derived="netatalk 3.1 keeps $v's case")
    with pytest.raises(SafetyRefusal, match=r"no CNID database at /tank/cnid/tm/.AppleDB \(netatalk 3.1"):
        plan_rollback(attrs.evolve(facts, cnid=missing), RollbackRequest("tm", last_good=True))


def test_shared_cnid_dataset_is_not_rolled_back() -> None:
    """When other volumes keep their databases on the CNID dataset, paired would roll them back too: rebuild (this
    volume's records only; the CNID dataset is neither swapped nor rolled back)."""
    facts = facts_of(make_world())
    assert facts.cnid is not None
    facts = attrs.evolve(facts, cnid=attrs.evolve(facts.cnid, others_on_cnid_dataset=("target office",)))
    plan = plan_rollback(facts, RollbackRequest("tm", last_good=True))
    assert plan.strategy is CnidStrategy.REBUILD and "target office" in plan.strategy_reason
    assert not any(s.id.endswith("-cnid") and s.id != "rebuild-cnid" for s in plan.steps)
    assert plan.cnid_snapshot is None
    with pytest.raises(SafetyRefusal):
        plan_rollback(facts, RollbackRequest("tm", last_good=True, strategy=CnidStrategy.PAIRED))


def test_cnid_dev_yes_warns_with_the_fix_for_rescan() -> None:
    """Rescan with `cnid dev = yes` warns that hints may fail and names the afp.conf fix."""
    plan = plan_rollback(
        facts_of(make_world(), cnid_dev=True), RollbackRequest("tm", to="s3", strategy=CnidStrategy.RESCAN)
    )
    assert any("cnid dev = no" in w for w in plan.warnings)


def test_samba_needs_no_cnid_step() -> None:
    """A Samba share has no CNID database: no counter, no rescan, just stop/swap/start/verify."""
    plan = plan_rollback(facts_of(make_world(), server="samba"), RollbackRequest("tm", last_good=True))
    assert plan.strategy is CnidStrategy.NONE
    kinds = {s.kind for s in plan.steps}
    assert not kinds & {StepKind.READ_COUNTER, StepKind.RAISE_COUNTER, StepKind.RESCAN, StepKind.REBUILD_CNID}


def test_discard_newer_refuses_held_newer_snapshots_before_anything() -> None:
    """--discard-newer with a held newer snapshot is refused by the planner, naming the snapshot and its hold."""
    with pytest.raises(SafetyRefusal, match=r"tank/tm@s3 \(holds: backup-keep\)"):
        plan_rollback(facts_of(make_world()), RollbackRequest("tm", to="s1", mode=Mode.DISCARD))


def test_discard_newer_plans_in_place_rollbacks() -> None:
    """Without holds in the way --discard-newer rolls data and CNID dataset back in place (no rollback -r)."""
    world = make_world()
    world.release([DATA.snapshot("s3")], HoldTag("backup-keep"))
    plan = plan_rollback(facts_of(world), RollbackRequest("tm", to="s2", mode=Mode.DISCARD))
    assert [s.id for s in plan.steps] == [
        "stop-server", "read-counter", "rollback-cnid", "rollback-data", "raise-counter", "start-server", "verify"
    ]  # fmt: skip
    assert plan.kept_as is None and plan.newer == ("tank/tm@s3",)


def test_unknown_snapshot_and_missing_choice_are_usage_errors() -> None:
    """--to of a snapshot that does not exist, or no choice at all, is a usage error."""
    facts = facts_of(make_world())
    with pytest.raises(UsageError, match="does not exist"):
        plan_rollback(facts, RollbackRequest("tm", to="nope"))
    with pytest.raises(UsageError, match="not a snapshot of"):
        plan_rollback(facts, RollbackRequest("tm", to="tank/other@s1"))
    with pytest.raises(UsageError):
        plan_rollback(facts, RollbackRequest("tm"))


def test_full_snapshot_name_is_accepted() -> None:
    """--to accepts dataset@name for the target's own dataset."""
    assert plan_rollback(facts_of(make_world()), RollbackRequest("tm", to="tank/tm@s2")).snapshot == "tank/tm@s2"


def test_no_known_good_is_a_refusal() -> None:
    """--last-good without a known-good hold refuses and points at --to."""
    facts = facts_of(make_world(), known_good=())
    with pytest.raises(SafetyRefusal, match="--to"):
        plan_rollback(facts, RollbackRequest("tm", last_good=True))


def test_children_or_legacy_mountpoint_refuse_the_swap() -> None:
    """A dataset with children (a rename would carry them) or a legacy mountpoint cannot be swapped."""
    facts = facts_of(make_world())
    with pytest.raises(SafetyRefusal, match="child datasets"):
        plan_rollback(
            attrs.evolve(facts, data=attrs.evolve(facts.data, has_children=True)), RollbackRequest("tm", to="s1")
        )
    with pytest.raises(SafetyRefusal, match="legacy"):
        plan_rollback(
            attrs.evolve(facts, data=attrs.evolve(facts.data, mountpoint="legacy")), RollbackRequest("tm", to="s1")
        )


def test_plan_renders_and_round_trips_through_json() -> None:
    """The JSON form of a plan reads back to the same plan (the journal relies on it); the text names the CNID why."""
    plan = plan_rollback(facts_of(make_world()), RollbackRequest("tm", last_good=True))
    assert RollbackPlan.from_json(json.loads(plan_json(plan))) == plan
    assert "paired:" in plan_text(plan) and "held: backup-keep" in plan_text(plan)


@st.composite
def listings(draw: st.DrawFn) -> tuple[RollbackFacts, str, bool]:
    count = draw(st.integers(1, 12))
    txgs = sorted(draw(st.lists(st.integers(1, 10_000), min_size=count, max_size=count, unique=True)))
    shorts = [f"s{i}" for i in range(count)]
    held = draw(st.sets(st.sampled_from(shorts)))
    paired = draw(st.sets(st.sampled_from(shorts)))
    data = DatasetFacts(name=DATA, mountpoint="/tank/tm", snapshots=tuple(zip(shorts, txgs, strict=True)),
                        holds=dict.fromkeys(held, ("keep",)))  # fmt: skip
    twins = tuple((f"c{s}", t) for s, t in zip(shorts, txgs, strict=True) if s in paired)
    cnid = DatasetFacts(name=CNID, mountpoint="/tank/cnid", snapshots=twins)
    base = facts_of(make_world())
    facts = attrs.evolve(base, data=data, cnid_dataset=cnid, known_good=())
    return facts, draw(st.sampled_from(shorts)), draw(st.booleans())


@given(listings())
def test_plan_invariants(case: tuple[RollbackFacts, str, bool]) -> None:
    """For any listing: newer = exactly the later snapshots; paired iff a same-txg CNID twin exists; the server is
    stopped first and started only after every ZFS step; discard never plans over a held newer snapshot."""
    facts, target, discard = case
    request = RollbackRequest("tm", to=target, mode=Mode.DISCARD if discard else Mode.SWAP)
    txg = facts.data.createtxg(target)
    later = [s for s, t in facts.data.snapshots if t > (txg or 0)]
    held_later = [s for s in later if facts.data.holds.get(s)]
    if discard and held_later:
        with pytest.raises(SafetyRefusal):
            plan_rollback(facts, request)
        return
    plan = plan_rollback(facts, request)
    assert plan.newer == tuple(f"tank/tm@{s}" for s in later)
    assert set(plan.newer_held) == {f"tank/tm@{s}" for s in held_later}
    twin = any(t == txg for _, t in facts.cnid_dataset.snapshots) if facts.cnid_dataset else False
    assert (plan.strategy is CnidStrategy.PAIRED) == twin
    kinds = [s.kind for s in plan.steps]
    assert kinds[0] is StepKind.STOP_SERVER and kinds[-1] is StepKind.VERIFY
    zfs = [
        i for i, k in enumerate(kinds) if k in {StepKind.CLONE, StepKind.PROMOTE, StepKind.RENAME, StepKind.ROLLBACK}
    ]
    assert max(zfs) < kinds.index(StepKind.START_SERVER)
    # every strategy reads the mark before any ZFS change and repairs the database after the last one, before the
    # server starts (raise-counter for paired, rebuild-cnid for rebuild)
    repair = StepKind.RAISE_COUNTER if plan.strategy is CnidStrategy.PAIRED else StepKind.REBUILD_CNID
    assert kinds.index(StepKind.READ_COUNTER) < min(zfs)
    assert max(zfs) < kinds.index(repair) < kinds.index(StepKind.START_SERVER)
    assert len({s.id for s in plan.steps}) == len(plan.steps)
    assert not DatasetName(plan.dataset).is_ancestor_of(DATA)
