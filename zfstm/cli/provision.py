"""`zfstm provision DATASET --share NAME [--size SIZE] [--server netatalk|samba] [--write-config FILE]`.

Creates the share's dataset (compression=lz4, atime=off, a refquota from --size, xattr=sa on Linux) and, for
netatalk, a CNID dataset for ``vol dbpath`` (default: ``cnid`` next to the share, reused when it exists); then prints
the afp.conf or smb.conf stanza, or adds it to the file given with --write-config. An existing dataset or section of
that name is never changed without --force. --dry-run prints the plan and touches nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from zfstm.atomicfile import write_atomically
from zfstm.config.load import parse_size
from zfstm.config.model import FileServerKind
from zfstm.errors import UsageError
from zfstm.provision import (
    ConfigChange,
    Platform,
    ProvisionPlan,
    ProvisionRequest,
    config_change,
    default_cnid_dataset,
    effective_valid_users,
    plan_json,
    plan_provision,
    plan_text,
)
from zfstm.zfs import DatasetName, ZfsBackend, open_backend


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "provision",
        help="create a Time Machine share's datasets and its afp.conf / smb.conf stanza",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", help="the share's dataset, e.g. tank/tm (its parent must exist)")
    parser.add_argument("--share", help="volume / share name the Macs see, e.g. TimeMachine (not with iscsi)")
    parser.add_argument("--size", help="size Time Machine may use: refquota and volume limit, e.g. 500G")
    parser.add_argument(
        "--server", choices=("netatalk", "samba", "iscsi"), default="netatalk", help="iscsi: a zvol (docs/volumes.md)"
    )
    parser.add_argument("--cnid-dataset", metavar="DATASET", help="netatalk's CNID datasets (default: <parent>/cnid)")
    parser.add_argument("--platform", choices=("linux", "illumos"), help="default: this machine's")
    parser.add_argument(
        "--valid-users", nargs="+", default=[], metavar="USER", help="who may use the share (default: the owner)"
    )
    parser.add_argument(
        "--owner", metavar="USER", help="chown the share's mountpoint to USER, the share's valid user by default"
    )
    parser.add_argument("--write-config", metavar="FILE", help="add the stanza to FILE (afp.conf or smb.conf)")
    parser.add_argument("--target", metavar="NAME", help="target name in the printed zfstm.toml snippet")
    parser.add_argument("--backend", choices=("auto", "lzc", "cli"), default="auto", help="ZFS backend")
    parser.add_argument("--force", action="store_true", help="set properties on an existing dataset; replace a section")
    volume = parser.add_argument_group(
        "--server iscsi (a zvol exported as an iSCSI LUN, or with --export nbd by nbd-server)"
    )
    volume.add_argument("--volblocksize", default="16K", help="fixed at creation (default 16K; see docs/volumes.md)")
    volume.add_argument("--reservation", choices=("sparse", "full"), default="sparse", help="refreservation")
    volume.add_argument("--export", choices=("lio", "comstar", "nbd"), help="default: lio on Linux, comstar on illumos")
    volume.add_argument("--iqn", help="the iSCSI target name (default iqn.2026-12.org.zfstm:<target>)")
    volume.add_argument("--lun", type=int, default=0, help="the volume's LUN (default 0)")
    volume.add_argument(
        "--initiator", nargs="+", default=[], metavar="IQN", help="initiators allowed (LIO ACLs; nbd: client addresses)"
    )
    volume.add_argument("--export-name", help="nbd: the export's name (default: the target's)")
    volume.add_argument(
        "--nbd-config-dir", default="/etc/nbd-server/conf.d", help="nbd: nbd-server's includedir (default %(default)s)"
    )
    volume.add_argument(
        "--nbd-pidfile", default="/var/run/nbd-server.pid", help="nbd: nbd-server's pidfile (default %(default)s)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan only")
    parser.add_argument("--json", action="store_true", help="machine-readable plan")
    parser.set_defaults(handler=run)


def this_platform() -> Platform:
    return "illumos" if sys.platform.startswith("sunos") else "linux"


def _mountpoint(backend: ZfsBackend, name: DatasetName, existing: frozenset[str]) -> str:
    """Where ``name`` is (or will be) mounted: its own mountpoint, else its parent's plus its last component."""
    if name.full in existing:
        return backend.get_properties(name, ["mountpoint"]).get("mountpoint") or f"/{name.full}"
    parent, _, leaf = name.full.rpartition("/")
    if not backend.exists(DatasetName(parent)):
        raise UsageError(f"cannot provision {name.full}: its parent {parent} does not exist; create it first")
    base = backend.get_properties(DatasetName(parent), ["mountpoint"]).get("mountpoint") or f"/{parent}"
    return f"{base.rstrip('/')}/{leaf}"


def build(args: argparse.Namespace, backend: ZfsBackend) -> tuple[ProvisionPlan, ConfigChange | None]:
    if not args.share:
        raise UsageError(f"--server {args.server} needs --share: the share name the Macs see, e.g. TimeMachine")
    dataset = DatasetName(args.dataset)
    cnid = DatasetName(args.cnid_dataset) if args.cnid_dataset else None
    if args.server == "netatalk" and cnid is None:
        cnid = default_cnid_dataset(dataset)
    try:
        size = parse_size(args.size) if args.size else None
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--size {args.size}: {exc}") from None
    request = ProvisionRequest(
        dataset=dataset,
        share=args.share,
        size_bytes=size,
        server=FileServerKind(args.server),
        platform=args.platform or this_platform(),
        cnid_dataset=cnid if args.server == "netatalk" else None,
        valid_users=effective_valid_users(args.valid_users, args.owner),
    )
    names = [dataset] + ([cnid] if cnid is not None and args.server == "netatalk" else [])
    existing = frozenset(name.full for name in names if backend.exists(name))
    mountpoints = {name.full: _mountpoint(backend, name, existing) for name in names}
    plan = plan_provision(request, existing=existing, mountpoints=mountpoints, force=args.force)
    change = None
    if args.write_config:
        path = Path(args.write_config)
        text = path.read_text(encoding="utf-8") if path.exists() else None
        change = config_change(text, plan.stanza, args.share, str(path), force=args.force)
    return plan, change


def execute(plan: ProvisionPlan, change: ConfigChange | None, backend: ZfsBackend, args: argparse.Namespace) -> None:
    for step in plan.datasets:
        if not step.exists:
            backend.create_filesystem(step.name, dict(step.properties))
        elif not step.shared:
            for prop, value in step.properties:
                backend.set_property(step.name, prop, value)
    if args.owner:
        path = backend.get_properties(plan.request.dataset, ["mountpoint"]).get("mountpoint")
        if path and path.startswith("/"):
            shutil.chown(path, user=args.owner)
    if change is not None and change.action != "unchanged":
        write_atomically(Path(args.write_config), change.text)


def run(args: argparse.Namespace) -> int:
    backend: ZfsBackend = getattr(args, "zfs_backend", None) or open_backend(args.backend)
    if args.server == "iscsi":
        from zfstm.cli.volume import provision_volume

        return provision_volume(args, backend, args.platform or this_platform())
    plan, change = build(args, backend)
    target = args.target or plan.request.dataset.full.rsplit("/", 1)[-1]
    if not args.dry_run:
        execute(plan, change, backend, args)
    if args.json:
        json.dump({**plan_json(plan, change), "dry_run": args.dry_run}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(("(dry run: nothing changed)\n" if args.dry_run else "") + plan_text(plan, change, target))
    return 0
