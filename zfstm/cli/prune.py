"""`zfstm prune DATASET`: plan retention, then destroy what the plan says in one batched call.

``--dry-run`` prints the plan and the space it would free and stops before any mutating code. A refusal by the
clock check or the circuit breaker exits 4 with nothing destroyed (``--force`` overrides only the breaker). Names
ZFS refuses at that moment (a hold placed since the listing) are reported and the rest still go: exit 3.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from zfstm.cli.plan import add_policy_arguments, now_from_args, policy_from_args, schemes_from_args
from zfstm.errors import PartialFailure
from zfstm.retention import Pick, plan
from zfstm.retention.apply import apply_plan, estimate_reclaim, read_snapshots
from zfstm.retention.render import plan_json, plan_table
from zfstm.zfs import DatasetName, DestroyReport, open_backend


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "prune",
        help="destroy the snapshots the retention policy does not keep (batched; --dry-run to look first)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", help="dataset whose snapshots to prune")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and the space it would free; stop")
    parser.add_argument("--force", action="store_true", help="override the circuit breaker (never the clock check)")
    add_policy_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from zfstm.retention.apply import dataset_usage

    policy = policy_from_args(args)
    naming, adopted = schemes_from_args(args)
    backend = open_backend(args.backend)
    dataset = DatasetName(args.dataset)
    listing = read_snapshots(backend, dataset, naming=naming, adopted=adopted, pick_last=policy.pick is Pick.LAST)
    usage = dataset_usage(backend, dataset, policy.space.basis) if policy.space is not None else None
    the_plan = plan(listing.snapshots, now_from_args(args), policy, usage=usage, dataset=dataset.full)
    if args.dry_run:
        estimate = estimate_reclaim(backend, the_plan.destroy_names, listing.used)
        if args.json:
            document = plan_json([the_plan], force=args.force)
            document["dry_run"] = True
            document["reclaim"] = {"bytes": estimate.bytes, "method": estimate.method, "exact": estimate.exact}
            _dump(document)
        else:
            sys.stdout.write(plan_table([the_plan], force=args.force))
            bound = "" if estimate.exact else "at least "
            sys.stdout.write(f"dry run: would free {bound}{_size(estimate.bytes)} ({estimate.method}); nothing done\n")
        return 0
    report = apply_plan(the_plan, backend, force=args.force)
    refused = report.refused
    if args.json:
        document = plan_json([the_plan], force=args.force)
        document["dry_run"] = False
        document["result"] = _report_json(report)
        _dump(document)
    else:
        sys.stdout.write(plan_table([the_plan], force=args.force, show_kept=False))
        sys.stdout.write(
            f"destroyed {len(report.destroyed)}, already gone {len(report.not_found)}, refused {len(refused)}\n"
        )
        for result in refused:
            sys.stdout.write(f"refused {result.name.full}: {result.outcome.value}: {result.message}\n")
    if refused:
        print(
            f"zfstm prune: {len(refused)} of {len(report.results)} snapshots of {dataset.full} were refused by ZFS "
            "(see above); the others were destroyed. Release the holds or clones and run prune again.",
            file=sys.stderr,
        )
        return PartialFailure.exit_code
    return 0


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
