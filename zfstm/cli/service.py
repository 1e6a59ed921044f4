"""`zfstm service install [--dry-run] [--json] [--root DIR] [--no-enable]` and `zfstm service print [NAME]`.

``install`` puts the shipped service definitions in place for this platform and registers them: on Linux the
systemd units in /etc/systemd/system, `systemctl daemon-reload` and `zfstm.timer` enabled (`--no-enable` skips
that); in a SmartOS global zone the SMF manifest in /opt/custom/smf (imported again at every boot) and
`svccfg import`; in a non-global zone or another illumos the manifest in /var/svc/manifest/site and `svccfg
import`. It also installs the account method, an example configuration, bash and zsh completion and the man page.
The plan is printed first; `--dry-run` stops there. The units and manifest are rewritten to name the zfstm
executable that runs this command (`--zfstm-bin` to choose another). Run as root.

``print NAME`` writes one shipped file to stdout (without NAME: the list), e.g.
`zfstm service print example-config > /etc/zfstm/zfstm.toml`.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from zfstm.atomicfile import write_atomically
from zfstm.command import Runner
from zfstm.errors import ZfstmError
from zfstm.runner import run_command
from zfstm.service.install import (
    HostFacts,
    InstallPlan,
    Platform,
    detect_platform,
    plan_install,
    plan_json,
    plan_text,
    render,
    staged_path,
)
from zfstm.service.shipped import NAMES, SHIPPED, read_shipped


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "service",
        help="install the SMF manifest or systemd units, completion and man page; print a shipped file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="service_action", required=True, metavar="ACTION")
    install = actions.add_parser("install", help="install and register the service for this platform")
    install.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    install.add_argument("--json", action="store_true", help="the plan as JSON")
    install.add_argument("--root", metavar="DIR", default="/", help="stage the files below DIR (default: /)")
    install.add_argument("--no-enable", action="store_true", help="Linux: do not enable zfstm.timer")
    install.add_argument(
        "--platform", choices=[p.value for p in Platform], help="plan for this platform (default: detected)"
    )
    install.add_argument("--zfstm-bin", metavar="PATH", help="the zfstm executable the service runs")
    install.set_defaults(handler=run_install)
    show = actions.add_parser("print", help="print a shipped file (unit, manifest, example config, man page)")
    show.add_argument("name", nargs="?", choices=NAMES, metavar="NAME", help=f"one of: {', '.join(NAMES)}")
    show.set_defaults(handler=run_print)


def host_facts() -> HostFacts:
    uname = os.uname()
    zonename = None
    if uname.sysname == "SunOS":
        try:
            done = run_command(["zonename"], timeout=10)
        except (OSError, ZfstmError):
            done = None
        zonename = done.stdout.strip() if done is not None and done.returncode == 0 else None
    return HostFacts(uname.sysname, uname.version, zonename)


def running_zfstm(argv0: str, which: Callable[[str], str | None] = shutil.which) -> str | None:
    """The zfstm executable running this command (a venv's bin/zfstm), else the one on PATH."""
    if Path(argv0).name == "zfstm":
        return str(Path.cwd() / argv0) if not argv0.startswith("/") else argv0
    return which("zfstm")


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def apply_plan(plan: InstallPlan, *, runner: Runner = run_command, read: Callable[[str], str] = read_shipped) -> None:
    """Write every file (atomically, with its mode), then run the commands in order; stop at the first failure."""
    for write in plan.files:
        target = Path(staged_path(plan.root, write.path))
        write_atomically(target, render(write, read(write.source)), mode=write.mode)
        print(f"wrote {target}", file=sys.stderr)
    for command in plan.commands:
        done = runner(command.argv, timeout=120)
        if done.returncode != 0:
            raise ZfstmError(f"`{done.command}` failed: {done.why()}")
        print(f"ran {done.command}", file=sys.stderr)


def run_install(args: argparse.Namespace) -> int:
    platform = Platform(args.platform) if args.platform else detect_platform(host_facts())
    plan = plan_install(
        platform,
        root=args.root,
        zfstm_bin=args.zfstm_bin or running_zfstm(sys.argv[0]),
        enable=not args.no_enable,
        user_exists=user_exists("zfstm"),
    )
    if args.json:
        json.dump(plan_json(plan), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(plan_text(plan))
    if not args.dry_run:
        apply_plan(plan)
    return 0


def run_print(args: argparse.Namespace) -> int:
    if args.name is None:
        for item in SHIPPED:
            print(f"{item.name:22} {item.what}")
        return 0
    sys.stdout.write(read_shipped(args.name))
    return 0
