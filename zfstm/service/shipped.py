"""The files the zfstm package carries besides its code, by the name `zfstm service print NAME` takes.

They live in ``zfstm/share/`` (package data, in the sdist and the wheel): the SMF manifest and its account method,
the systemd units, the example configuration, and the shell completion and man page generated from the argparse
definitions (``python3 -m zfstm.service.shipped --regenerate`` rewrites those three; a test checks they are
current). Reading is the only side effect here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

import attrs

from zfstm.errors import UsageError


@attrs.frozen
class Shipped:
    """One shipped file: its ``print`` name, its path under ``zfstm/share`` and what it is."""

    name: str
    resource: str
    what: str


SHIPPED: tuple[Shipped, ...] = (
    Shipped("zfstm.service", "systemd/zfstm.service", "systemd oneshot unit: one tick (`zfstm run`)"),
    Shipped("zfstm.timer", "systemd/zfstm.timer", "systemd timer: starts zfstm.service every 15 minutes"),
    Shipped(
        "zfstm-daemon.service", "systemd/zfstm-daemon.service", "systemd unit: `zfstm daemon` (instead of the timer)"
    ),
    Shipped("zfstm.xml", "smf/zfstm.xml", "SMF manifest: application/zfstm and application/zfstm-account"),
    Shipped("zfstm-account", "smf/zfstm-account", "SMF method: creates the zfstm user with a fixed uid"),
    Shipped("example-config", "examples/zfstm.toml", "an example configuration (docs: configuration)"),
    Shipped("bash-completion", "completion/zfstm.bash", "bash completion, generated from the argument parser"),
    Shipped("zsh-completion", "completion/_zfstm", "zsh completion, generated from the argument parser"),
    Shipped("man", "man/zfstm.1", "the man page zfstm(1), generated from the argument parser"),
)

NAMES: tuple[str, ...] = tuple(item.name for item in SHIPPED)


def shipped(name: str) -> Shipped:
    for item in SHIPPED:
        if item.name == name:
            return item
    raise UsageError(f"no shipped file called {name!r}; choose one of: {', '.join(NAMES)}")


def read_shipped(name: str) -> str:
    """The text of a shipped file, from the installed package (or the checkout)."""
    path = resources.files("zfstm").joinpath("share", *shipped(name).resource.split("/"))
    return path.read_text(encoding="utf-8")


def generators() -> dict[str, Callable[[], str]]:
    """The shipped files made from the argument parser, and how to make each (the generators import every verb)."""
    from zfstm.cli.completion import bash_completion, zsh_completion
    from zfstm.cli.main import build_parser
    from zfstm.cli.manpage import man_page

    return {
        "bash-completion": lambda: bash_completion(build_parser()),
        "zsh-completion": lambda: zsh_completion(build_parser()),
        "man": lambda: man_page(build_parser()),
    }


def regenerate(share: Path) -> list[Path]:
    """Rewrite the generated files under ``share`` (the checkout's ``zfstm/share``); returns what it wrote."""
    written = []
    for name, make in generators().items():
        target = share / shipped(name).resource
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(make(), encoding="utf-8")
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m zfstm.service.shipped", description=__doc__)
    parser.add_argument("--regenerate", action="store_true", help="rewrite completion and man page in zfstm/share")
    args = parser.parse_args(argv)
    if not args.regenerate:
        for item in SHIPPED:
            print(f"{item.name:22} zfstm/share/{item.resource:28} {item.what}")
        return 0
    for path in regenerate(Path(__file__).resolve().parents[1] / "share"):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
