"""`zfstm config check [--config FILE] [--json]`: validate the configuration and print the effective one.

Nothing is touched: no ZFS, no share, no lock. Every problem is reported at once with file, line and key (exit 6).
The file is ``--config``, else ``$ZFSTM_CONFIG``, else the platform default (Linux ``/etc/zfstm/zfstm.toml``,
illumos/SmartOS ``/opt/zfstm/etc/zfstm.toml``). The printed TOML has every default spelled out and reads back as
the same configuration.

This module also holds the helpers the other configured verbs share (run, snapshot, daemon, status).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from zfstm.clock import SystemClock, parse_instant
from zfstm.config.load import config_path, load_config
from zfstm.config.model import Config, Target
from zfstm.config.render import render_toml, to_json
from zfstm.errors import UsageError
from zfstm.lock import resolve_run_dir
from zfstm.zfs import BackendChoice, ZfsBackend, open_backend_explained

log = logging.getLogger("zfstm")


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: $ZFSTM_CONFIG, else /etc/zfstm/zfstm.toml; /opt/zfstm/etc on illumos)",
    )


def load_from_args(args: argparse.Namespace) -> Config:
    """The configuration named by ``--config`` / ``$ZFSTM_CONFIG`` / the platform default (ConfigError if bad)."""
    return load_config(config_path(getattr(args, "config", None), os.environ))


def select_targets(config: Config, names: Sequence[str]) -> list[Target]:
    """The named targets (by name or dataset), or all of them; an unknown name is a usage error."""
    if not names:
        return list(config.targets)
    chosen: list[Target] = []
    unknown = []
    for name in names:
        target = config.target(name)
        if target is None:
            unknown.append(name)
        elif target not in chosen:
            chosen.append(target)
    if unknown:
        known = ", ".join(target.name for target in config.targets)
        raise UsageError(f"unknown target(s) {', '.join(unknown)} in {config.source}; configured: {known}")
    return chosen


def backend_for(config: Config, args: argparse.Namespace | None = None, *, announce: bool = True) -> ZfsBackend:
    """The configured ZFS backend; a caller embedding the CLI (or a test) may pass one as ``args.zfs_backend``."""
    return backend_choice_for(config, args, announce=announce)[0]


def backend_choice_for(
    config: Config, args: argparse.Namespace | None = None, *, announce: bool = True
) -> tuple[ZfsBackend, BackendChoice]:
    """The backend and why it was chosen, logged at INFO (at DEBUG with ``announce=False``: the daemon says it
    once at start, not at every tick)."""
    given = getattr(args, "zfs_backend", None)
    if given is not None:
        return given, BackendChoice(str(given.kind), "passed in by the caller")
    backend, choice = open_backend_explained(config.backend.kind.value, config.backend.command_prefix)
    log.log(logging.INFO if announce else logging.DEBUG, "ZFS backend: %s (%s)", choice.label, choice.reason)
    return backend, choice


def run_dir_for(config: Config) -> Path:
    """The lock directory: the configured one, else zfstm.lock's shared default (docs/services.md)."""
    explicit = Path(config.run_dir) if config.run_dir else None
    return resolve_run_dir(explicit, os.environ, euid=os.geteuid())


def state_dir_for(config: Config) -> Path:
    """Where rollback journals and the last look per target live: the configured state_dir, else a default.

    It must survive a reboot (a rollback journal is what `zfstm rollback --resume` reads after a crash), so the
    default is never the run directory, which is a tmpfs on Linux and emptied at boot on illumos.
    """
    if config.state_dir:
        return Path(config.state_dir)
    return default_state_dir(os.environ, euid=os.geteuid(), platform=sys.platform)


def default_state_dir(environ: Mapping[str, str], *, euid: int, platform: str) -> Path:
    """$ZFSTM_STATE_DIR, else /var/lib/zfstm (Linux) or /var/zfstm/state (illumos) for root and services, else
    $XDG_STATE_HOME/zfstm (~/.local/state/zfstm) for other users."""
    explicit = environ.get("ZFSTM_STATE_DIR")
    if explicit:
        return Path(explicit)
    if euid == 0 or environ.get("SMF_FMRI") or environ.get("INVOCATION_ID"):
        return Path("/var/zfstm/state") if platform.startswith("sunos") else Path("/var/lib/zfstm")
    base = environ.get("XDG_STATE_HOME") or str(Path(environ.get("HOME", "~")).expanduser() / ".local/state")
    return Path(base) / "zfstm"


def now_from(text: str | None) -> datetime:
    return parse_instant(text) if text else SystemClock().now()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "config",
        help="check the configuration file and print the effective configuration",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="config_action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="validate without touching anything; print the effective config")
    add_config_argument(check)
    check.add_argument("--json", action="store_true", help="print the effective configuration as JSON")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    config = load_from_args(args)
    sys.stdout.write(to_json(config) if args.json else render_toml(config))
    if not args.json:
        print(f"zfstm config check: {config.source} is valid ({len(config.targets)} target(s))", file=sys.stderr)
    return 0
