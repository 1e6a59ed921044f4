"""`zfstm rollback TARGET (--to SNAPSHOT | --last-good | --undo | --resume) [--discard-newer] [--dry-run] [--yes]`

Rolls a broken Time Machine share back to a snapshot while keeping Netatalk's CNIDs: it prints the plan first
(target snapshot, what is stopped, what happens to newer snapshots, CNID strategy and why, steps, outcome), asks
for confirmation unless --yes, then runs the steps with a journal in the state directory. By default nothing is
destroyed: the current state and the newer snapshots stay in <dataset>.before-rollback-<time>, and
`zfstm rollback --undo TARGET` swaps back. `--resume TARGET` finishes (or, with --abort, reverses) a rollback that
was interrupted. See docs/rollback.md.
"""

from __future__ import annotations

import argparse
import sys
import uuid

from zfstm.cli.config import (
    add_config_argument,
    backend_for,
    load_from_args,
    now_from,
    run_dir_for,
    select_targets,
    state_dir_for,
)
from zfstm.config.model import Target
from zfstm.errors import SafetyRefusal, UsageError
from zfstm.lock import target_lock
from zfstm.rollback.execute import Context, Server, ToolCnidOps
from zfstm.rollback.facts import forecast_cnids, gather, watched_paths
from zfstm.rollback.journal import Journal
from zfstm.rollback.model import CnidStrategy, Mode, RollbackPlan, RollbackRequest
from zfstm.rollback.planner import plan_rollback
from zfstm.rollback.render import plan_json, plan_text
from zfstm.rollback.runner import run as run_journal
from zfstm.snapshots.memory import forget as forget_listings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "rollback",
        help="roll a share back to a snapshot, keeping CNIDs (non-destructive by default)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", metavar="TARGET", help="target name or dataset")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--to", metavar="SNAPSHOT", help="snapshot name (short or dataset@name)")
    where.add_argument("--last-good", action="store_true", help="the newest snapshot held as known-good")
    where.add_argument("--undo", action="store_true", help="swap back to the dataset an earlier rollback kept")
    where.add_argument("--resume", action="store_true", help="finish an interrupted rollback from its journal")
    parser.add_argument("--abort", action="store_true", help="with --resume: reverse instead of finishing")
    parser.add_argument("--discard-newer", action="store_true", help="destroy newer snapshots, roll back in place")
    parser.add_argument("--cnid-strategy", choices=[s.value for s in CnidStrategy if s is not CnidStrategy.NONE],
                        help="force a CNID strategy (default: chosen automatically)")  # fmt: skip
    parser.add_argument(
        "--force", action="store_true", help="volume targets: take the LUN offline even while an initiator is logged in"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--json", action="store_true", help="print the plan (and result) as JSON")
    parser.add_argument("--now", metavar="TIME", help="use this ISO-8601 instant for new dataset names")
    add_config_argument(parser)
    parser.set_defaults(handler=run)


def _server(target: Target, plan: RollbackPlan, *, force: bool = False) -> Server | None:
    """The verified file-server control, watching the share and database directories the plan names; for a volume
    target its export (offline before the rollback, back with the same IQN and LUN, or NBD export name, after)."""
    from zfstm.service.factory import server_for

    if target.volume is not None:
        from zfstm.volume.control import ExportControl

        return ExportControl(target.volume, target.dataset, force=force)

    return server_for(target, watched_paths(plan))


def _refuse_logged_in(target: Target, *, force: bool) -> None:
    """A volume target's initiators are checked before the journal exists (the stop step checks again)."""
    if target.volume is None or force:
        return
    from zfstm.volume.control import ExportControl

    control = ExportControl(target.volume, target.dataset)
    logged_in = control.sessions()
    if logged_in:
        raise SafetyRefusal(
            f"{target.name}: initiator(s) logged in to the {control.name} ({', '.join(logged_in)}); nothing was "
            "changed. Eject the disk on the Mac and log it out (NBD: disconnect the client), or pass --force"
        )


def _confirm(args: argparse.Namespace) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("standard input is not a terminal: pass --yes to confirm the rollback")
    answer = input("Roll back now? Type 'yes': ").strip().lower()
    if answer != "yes":
        raise UsageError("not confirmed; nothing was changed")


def run(args: argparse.Namespace) -> int:
    config = load_from_args(args)
    (target,) = select_targets(config, [args.target])
    backend = backend_for(config, args)
    state_dir = state_dir_for(config)
    if args.abort and not args.resume:
        raise UsageError("--abort only goes with --resume")
    with target_lock(target.name, run_dir_for(config)):
        if args.resume:
            journal = Journal.open(state_dir, target.name)
            if journal is None:
                raise UsageError(f"no unfinished rollback of {target.name} in {state_dir}")
            plan = journal.plan
        else:
            if Journal.open(state_dir, target.name) is not None:
                raise SafetyRefusal(
                    f"a rollback of {target.name} is unfinished: run `zfstm rollback --resume {target.name}` first"
                )
            facts = gather(backend, config, target, now=now_from(args.now), state_dir=state_dir, platform=sys.platform)
            mode = Mode.UNDO if args.undo else (Mode.DISCARD if args.discard_newer else Mode.SWAP)
            request = RollbackRequest(
                target=target.name,
                to=args.to,
                last_good=args.last_good,
                mode=mode,
                strategy=CnidStrategy(args.cnid_strategy) if args.cnid_strategy else None,
            )
            plan = forecast_cnids(plan_rollback(facts, request), facts)
            sys.stdout.write(plan_json(plan) if args.json else plan_text(plan))
            if args.dry_run:
                return 0
            _refuse_logged_in(target, force=getattr(args, "force", False))
            _confirm(args)
            journal = Journal.create(state_dir, plan, facts.stamp + "-" + uuid.uuid4().hex[:6])
        forget_listings(state_dir)  # the rollback moves holds and snapshots behind any remembered listing
        server = _server(target, plan, force=getattr(args, "force", False))
        ctx = Context(backend=backend, server=server, cnid=ToolCnidOps())
        outcome = run_journal(journal, ctx, abort=args.abort, echo=lambda m: print(m, file=sys.stderr))
    if args.json:
        import json

        print(json.dumps({"status": outcome.status, "journal": outcome.journal, "results": outcome.results}))
    else:
        print(f"zfstm rollback: {plan.outcome}" if plan.outcome else "zfstm rollback: done")
        print(f"zfstm rollback: journal {outcome.journal}")
    return 0
