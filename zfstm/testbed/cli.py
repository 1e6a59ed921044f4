"""Command line of the testbed: build the image, run a command in it, play the demo, or say where it is."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from zfstm.errors import ZfstmError
from zfstm.testbed import build as build_mod
from zfstm.testbed import run as run_mod
from zfstm.testbed.recipe import Recipe


def _build(args: argparse.Namespace, recipe: Recipe) -> int:
    print(build_mod.build(recipe, force=args.force))
    return 0


def _path(_args: argparse.Namespace, recipe: Recipe) -> int:
    print(build_mod.image_dir(recipe))
    return 0 if build_mod.is_built(recipe) else 1


def _demo(_args: argparse.Namespace, recipe: Recipe) -> int:
    build_mod.build(recipe)
    return run_mod.run(["python3", "-m", "zfstm.testbed.story"], recipe=recipe, timeout=1800)


def _run(args: argparse.Namespace, recipe: Recipe) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.build:
        build_mod.build(recipe)
    return run_mod.run(
        command,
        recipe=recipe,
        out=args.out,
        timeout=args.timeout,
        pool_size_gb=args.pool_size,
        memory_mb=args.memory,
        systemd=args.systemd,
    )


def _test(args: argparse.Namespace, recipe: Recipe) -> int:
    from zfstm.testbed import suite

    build_mod.build(recipe)
    groups = [g for g in suite.GROUPS if not args.group or g.name in args.group]
    return suite.run_groups(groups, recipe=recipe, timeout=args.timeout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m zfstm.testbed", description=__doc__)
    sub = parser.add_subparsers(dest="verb", required=True)
    p_build = sub.add_parser("build", help="build the VM image (cached by recipe hash)")
    p_build.add_argument("--force", action="store_true", help="rebuild even if the cache has the image")
    p_build.set_defaults(handler=_build)
    sub.add_parser("path", help="print the cache directory of the current recipe's image").set_defaults(handler=_path)
    sub.add_parser("demo", help="build the image if needed and play the main job on real ZFS").set_defaults(
        handler=_demo
    )
    p_test = sub.add_parser("test", help="run the integration tests in parallel VMs (one per test group)")
    p_test.add_argument("--group", action="append", help="only this group (repeatable; default: all)")
    p_test.add_argument("--timeout", type=float, default=3000.0, help="seconds per VM (default 3000)")
    p_test.set_defaults(handler=_test)
    p_run = sub.add_parser("run", help="boot a fresh VM with pool `tank`, run CMD, exit with its status")
    p_run.add_argument("--out", type=Path, help="copy what CMD writes to $ZFSTM_TESTBED_OUT into this directory")
    p_run.add_argument("--timeout", type=float, default=3600.0, help="seconds before the VM is stopped (default 3600)")
    p_run.add_argument("--pool-size", type=int, default=8, help="size of the sparse pool disk in GiB (default 8)")
    p_run.add_argument("--memory", type=int, default=4096, help="guest memory in MiB (default 4096)")
    p_run.add_argument("--build", action="store_true", help="build the image first if the cache lacks it")
    p_run.add_argument(
        "--systemd", action="store_true", help="boot systemd as PID 1 and run CMD as a unit (service tests)"
    )
    p_run.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARG...]")
    p_run.set_defaults(handler=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args, Recipe())
    except ZfstmError as exc:
        print(f"zfstm.testbed: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("zfstm.testbed: interrupted", file=sys.stderr)
        return 130
    return code
