"""`zfstm prune [TARGET...]`: destroy what retention does not keep, through the same path as a tick.

Targets come from the configuration (``--config``, else ``$ZFSTM_CONFIG``, else the platform default), all of
them by default; a dataset the configuration does not name is pruned with the defaults. Flags replace the
configuration's policy, naming or backend for this run. Like `zfstm run`, each target is pruned under its lock
(busy: exit 5), after the clock check and the circuit breaker (exit 4 with nothing destroyed; ``--force``
overrides only the breaker), with the known-good hold kept where a tick would keep it, ``zfstm:stands-until``
honoured and the CNID dataset pruned in lockstep; only no snapshot is taken. ``--dry-run`` prints the plan and the
space it would free and stops before any mutating code. Names ZFS refuses at that moment (a hold placed since the
listing) are reported and the rest still go: exit 3.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from zfstm.cli.config import backend_for, run_dir_for, state_dir_for
from zfstm.cli.plan import add_policy_arguments, configured_for_run, now_from_args, say_failures
from zfstm.lifecycle.outcome import TickReport
from zfstm.lifecycle.tick import run_tick
from zfstm.retention.apply import estimate_reclaim
from zfstm.retention.render import plan_json, plan_table
from zfstm.zfs import DestroyOutcome, DestroyReport


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "prune",
        help="destroy the snapshots the retention policy does not keep (batched; --dry-run to look first)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="target names or datasets (default: all)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and the space it would free; stop")
    parser.add_argument("--force", action="store_true", help="override the circuit breaker (never the clock check)")
    add_policy_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config, targets = configured_for_run(args)
    backend = backend_for(config, args)
    report = run_tick(
        config,
        targets,
        backend,
        now_from_args(args),
        run_dir=run_dir_for(config),
        state_dir=state_dir_for(config),
        dry_run=args.dry_run,
        force=args.force,
        snapshot=False,
    )
    plans = [upkeep.retention for upkeep in report.plan.upkeep]
    say_failures("prune", report)
    if args.dry_run:
        used = {view.name.full: view.used for state in report.states.values() for view in state.snapshots if view.used}
        estimate = estimate_reclaim(backend, [name for p in plans for name in p.destroy_names], used)
        if args.json:
            document = plan_json(plans, force=args.force)
            document["dry_run"] = True
            document["reclaim"] = {"bytes": estimate.bytes, "method": estimate.method, "exact": estimate.exact}
            document["cnid"] = _cnid_json(report)
            _dump(document)
        else:
            sys.stdout.write(plan_table(plans, force=args.force))
            bound = "" if estimate.exact else "at least "
            sys.stdout.write(f"dry run: would free {bound}{_size(estimate.bytes)} ({estimate.method}); nothing done\n")
        return report.exit_code
    shares = {p.dataset for p in plans}
    mine = DestroyReport(tuple(r for d in report.destroyed for r in d.results if r.name.dataset.full in shares))
    refused = mine.refused
    if args.json:
        document = plan_json(plans, force=args.force)
        document["dry_run"] = False
        document["result"] = _report_json(mine)
        document["cnid"] = _cnid_json(report)
        _dump(document)
    else:
        sys.stdout.write(plan_table(plans, force=args.force, show_kept=False))
        sys.stdout.write(
            f"destroyed {len(mine.destroyed)}, already gone {len(mine.not_found)}, refused {len(refused)}\n"
        )
        for result in refused:
            sys.stdout.write(f"refused {result.name.full}: {result.outcome.value}: {result.message}\n")
    if report.refused_names and not report.failures and not report.refusals:
        print(f"zfstm prune: {_refused_hint(report)}", file=sys.stderr)
    return report.exit_code


def _refused_hint(report: TickReport) -> str:
    """What to do about names that are still there: holds and clones are released by hand; a zfs that failed or
    was killed (it may or may not have acted; zfstm looked again) needs only another run."""
    outcomes = {result.outcome for d in report.destroyed for result in d.refused}
    count = len(report.refused_names)
    if outcomes <= {DestroyOutcome.HELD, DestroyOutcome.CLONED}:
        return (
            f"{count} snapshot(s) were refused by ZFS (see above); the others were destroyed. Release the holds or "
            "clones and run prune again."
        )
    return (
        f"{count} snapshot(s) are still there (see above for each one's reason); the others were destroyed. "
        "Release any holds or clones named there and run prune again."
    )


def _cnid_json(report: TickReport) -> list[dict[str, Any]]:
    """The CNID datasets pruned in lockstep: what each follows and destroys."""
    return [
        {"dataset": cnid.dataset, "partners": list(cnid.partners), "destroy": list(cnid.destroy), "reason": cnid.reason}
        for cnid in report.plan.cnid
    ]


def _report_json(report: DestroyReport) -> dict[str, Any]:
    return {
        "destroyed": [name.full for name in report.destroyed],
        "not_found": [name.full for name in report.not_found],
        "refused": [
            {"name": result.name.full, "outcome": result.outcome.value, "message": result.message}
            for result in report.refused
        ],
    }


def _dump(document: dict[str, Any]) -> None:
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{count} B"
        value /= 1024
    return f"{count} B"
