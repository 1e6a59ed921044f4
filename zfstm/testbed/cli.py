"""Command line of the testbed: build the image, run a command in it, or say where it is."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from zfstm.errors import ZfstmError
from zfstm.testbed import build as build_mod
from zfstm.testbed import run as run_mod
from zfstm.testbed.recipe import Recipe


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zfstm.testbed", description=__doc__)
    sub = parser.add_subparsers(dest="verb", required=True)
    p_build = sub.add_parser("build", help="build the VM image (cached by recipe hash)")
    p_build.add_argument("--force", action="store_true", help="rebuild even if the cache has the image")
    sub.add_parser("path", help="print the cache directory of the current recipe's image")
    p_run = sub.add_parser("run", help="boot a fresh VM with pool `tank`, run CMD, exit with its status")
    p_run.add_argument("--out", type=Path, help="copy what CMD writes to $ZFSTM_TESTBED_OUT into this directory")
    p_run.add_argument("--timeout", type=float, default=3600.0, help="seconds before the VM is stopped (default 3600)")
    p_run.add_argument("--pool-size", type=int, default=8, help="size of the sparse pool disk in GiB (default 8)")
    p_run.add_argument("--memory", type=int, default=4096, help="guest memory in MiB (default 4096)")
    p_run.add_argument("--build", action="store_true", help="build the image first if the cache lacks it")
    p_run.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARG...]")
    args = parser.parse_args(argv)
    recipe = Recipe()
    try:
        if args.verb == "build":
            path = build_mod.build(recipe, force=args.force)
            print(path)
            return 0
        if args.verb == "run":
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
            )
        if args.verb == "path":
            print(build_mod.image_dir(recipe))
            return 0 if build_mod.is_built(recipe) else 1
    except ZfstmError as exc:
        print(f"zfstm.testbed: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("zfstm.testbed: interrupted", file=sys.stderr)
        return 130
    return 2
