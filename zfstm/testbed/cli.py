"""Command line of the testbed: build the image, run a command in it, or say where it is."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from zfstm.errors import ZfstmError
from zfstm.testbed import build as build_mod
from zfstm.testbed.recipe import Recipe


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zfstm.testbed", description=__doc__)
    sub = parser.add_subparsers(dest="verb", required=True)
    p_build = sub.add_parser("build", help="build the VM image (cached by recipe hash)")
    p_build.add_argument("--force", action="store_true", help="rebuild even if the cache has the image")
    sub.add_parser("path", help="print the cache directory of the current recipe's image")
    args = parser.parse_args(argv)
    recipe = Recipe()
    try:
        if args.verb == "build":
            path = build_mod.build(recipe, force=args.force)
            print(path)
            return 0
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
