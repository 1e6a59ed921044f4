"""`zfstm volume browse|unbrowse TARGET SNAPSHOT`: show a volume target's snapshot read-only, and take it away.

``browse`` clones the snapshot read-only (``<dataset>.browse-<snapshot>``) and exports the clone as the target's
restore LUN (``restore_lun``, 1 by default) beside the live one; the Mac sees a second, read-only disk to copy files
from. ``unbrowse`` removes the LUN and destroys the clone (only a clone of that snapshot: anything else is refused).
The live LUN is never touched. Provisioning is `zfstm provision --server iscsi`; see docs/volumes.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from zfstm.atomicfile import write_atomically
from zfstm.cli.config import add_config_argument, backend_for, load_from_args, run_dir_for, select_targets
from zfstm.config.load import parse_size
from zfstm.errors import SafetyRefusal, UsageError
from zfstm.lock import target_lock
from zfstm.volume import lio
from zfstm.volume.control import ExportControl
from zfstm.volume.model import ExportKind, VolumeExport, browse_dataset, default_iqn, default_nbd_name
from zfstm.volume.provision import VolumeRequest, plan_json, plan_text, plan_volume
from zfstm.zfs import DatasetName, SnapshotName, ZfsBackend


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "volume",
        help="show a volume target's snapshot read-only as a restore LUN, or remove it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("browse", "export SNAPSHOT read-only as the restore LUN"),
                         ("unbrowse", "remove the restore LUN and its clone")):  # fmt: skip
        sub = actions.add_parser(action, help=text, description=text)
        sub.add_argument("target", metavar="TARGET", help="a volume target (name or dataset)")
        sub.add_argument("snapshot", metavar="SNAPSHOT", help="snapshot name (short or dataset@name)")
        sub.add_argument("--dry-run", action="store_true", help="say what would be done")
        add_config_argument(sub)
        sub.set_defaults(handler=run)


def _snapshot(dataset: DatasetName, text: str) -> SnapshotName:
    try:
        return SnapshotName.parse(text if "@" in text else f"{dataset}@{text}")
    except ValueError as exc:
        raise UsageError(f"{text!r} is not a snapshot name: {exc}") from None


def run(args: argparse.Namespace) -> int:
    config = load_from_args(args)
    (target,) = select_targets(config, [args.target])
    if target.volume is None:
        raise UsageError(f"target {target.name} is not a volume target (it has no [targets.volume] table)")
    snapshot = _snapshot(target.dataset, args.snapshot)
    clone = browse_dataset(snapshot)
    lun = target.volume.restore_lun
    if args.dry_run:
        verb = "clone read-only as" if args.action == "browse" else "remove LUN {lun} and destroy"
        print(f"(dry run) {snapshot}: {verb.format(lun=lun)} {clone}, LUN {lun} of {target.volume.iqn}")
        return 0
    backend = backend_for(config, args)
    control = ExportControl(target.volume, target.dataset)
    with target_lock(target.name, run_dir_for(config)):
        if args.action == "browse":
            if not backend.exists(snapshot):
                raise UsageError(f"{snapshot} does not exist (zfs list -t snapshot {target.dataset})")
            if not backend.exists(clone):
                backend.clone(snapshot, clone, {"readonly": "on"})
            control.show(clone)
            print(f"zfstm volume: {snapshot} is LUN {lun} of {target.volume.iqn}, read-only ({clone})")
            return 0
        control.hide(clone)
        if backend.exists(clone):
            origin = backend.get_properties(clone, ["origin"]).get("origin")
            if origin != snapshot.full:
                raise SafetyRefusal(f"{clone} is not a clone of {snapshot} (origin {origin}); destroy it by hand")
            backend.destroy_dataset(clone)
        print(f"zfstm volume: LUN {lun} removed and {clone} destroyed")
    return 0


def refuse_replacing(files: tuple[tuple[str, str], ...], *, force: bool) -> None:
    """A file that exists with other text is someone's configuration: replaced only with --force."""
    for path, text in files:
        try:
            current = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise UsageError(f"cannot read {path} ({exc.strerror})") from None
        if current != text and not force:
            raise UsageError(f"{path} exists with other contents: nothing was changed; pass --force to replace it")


def provision_volume(args: argparse.Namespace, backend: ZfsBackend, platform: str) -> int:
    """`zfstm provision DATASET --server iscsi --size SIZE`: the zvol and its export, planned first."""
    dataset = DatasetName(args.dataset)
    if not args.size:
        raise UsageError("--server iscsi needs --size: the volume's size as the Mac sees it, e.g. 500G")
    try:
        size = parse_size(args.size)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--size {args.size}: {exc}") from None
    name = args.target or dataset.basename
    kind = ExportKind(args.export or ("comstar" if platform == "illumos" else "lio"))
    try:
        export = VolumeExport(kind, args.iqn or default_iqn(name), args.lun, 1 if args.lun != 1 else 2,
                              export_name=args.export_name or default_nbd_name(name),
                              config_dir=args.nbd_config_dir, pidfile=args.nbd_pidfile)  # fmt: skip
        request = VolumeRequest(dataset, size, export, platform, args.volblocksize, args.reservation,
                                tuple(args.initiator))  # fmt: skip
        target_exists = kind is ExportKind.LIO and lio.read_state(export, "").target_exists
        plan = plan_volume(request, exists=backend.exists(dataset), target_exists=target_exists)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not args.dry_run:
        refuse_replacing(plan.files, force=args.force)
        if not plan.exists:
            backend.create_volume(dataset, size, dict(plan.properties))
        control = ExportControl(export, dataset, platform=sys.platform)  # the real device path of this machine
        control.settle()
        control.run(plan.commands)
        for path, text in plan.files:
            write_atomically(Path(path), text)
        if plan.files and not control.nbd_reload():
            print(f"zfstm provision: no nbd-server runs ({export.pidfile}): start it to serve {export.export_name}")
    if args.json:
        json.dump({**plan_json(plan), "dry_run": args.dry_run}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(("(dry run: nothing changed)\n" if args.dry_run else "") + plan_text(plan, name))
    return 0
