"""What `zfstm provision` does, as a plan: the datasets of a Time Machine share and the file server's stanza. Pure.

Why a plan: provisioning touches ZFS and a file server's configuration that people edit by hand. The plan says which
datasets are created with which properties and what happens to the configuration file (created, appended to,
replaced with ``--force``, or refused because the share is already there), so ``--dry-run`` shows exactly that and
the shell only carries it out. Properties: lz4 (sparsebundle bands compress well), ``atime=off`` (every band read
would otherwise write), a ``refquota`` so one Mac cannot fill the pool (snapshots are not charged to it), and on
Linux ``xattr=sa`` (netatalk keeps its metadata and CNID hint in EAs; directory-based xattrs are slow). Netatalk's
CNID database gets a dataset of its own so that zfstm snapshots it atomically with the share (``vol dbpath``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import attrs

from zfstm.config.model import FileServerKind
from zfstm.errors import UsageError
from zfstm.events.model import DEFAULT_FCE_PORT, fce_global_lines
from zfstm.netatalk.afpconf import parse_ini
from zfstm.zfs import DatasetName

Platform = Literal["linux", "illumos"]
ConfigAction = Literal["create", "append", "replace", "unchanged"]

MIB = 1024 * 1024


@attrs.frozen
class ProvisionRequest:
    """What the administrator asked for (from the command line)."""

    dataset: DatasetName
    share: str
    size_bytes: int | None
    server: FileServerKind
    platform: Platform
    cnid_dataset: DatasetName | None = None
    valid_users: tuple[str, ...] = ()


@attrs.frozen
class DatasetStep:
    """Create ``name`` with ``properties`` (or, when it exists, set them only with --force)."""

    name: DatasetName
    properties: tuple[tuple[str, str], ...]
    exists: bool
    shared: bool = False  # an existing CNID dataset shared by several shares: used as is

    @property
    def action(self) -> str:
        if not self.exists:
            return "create"
        return "reuse" if self.shared else "set properties"


@attrs.frozen
class ProvisionPlan:
    request: ProvisionRequest
    datasets: tuple[DatasetStep, ...]
    stanza: str
    db_dir: str | None  # the ``vol dbpath`` directory (netatalk only)
    advice: tuple[str, ...]


@attrs.frozen
class ConfigChange:
    """What happens to the file server's configuration file, and its new text."""

    action: ConfigAction
    text: str
    reason: str


def default_cnid_dataset(dataset: DatasetName) -> DatasetName:
    """``tank/tm`` -> ``tank/cnid``: one CNID dataset next to the shares (shared by all of them)."""
    parent, sep, _ = dataset.full.rpartition("/")
    if not sep:
        raise UsageError(f"{dataset.full} is a pool's root dataset: give the share its own dataset, e.g. {dataset}/tm")
    return DatasetName(f"{parent}/cnid")


def share_properties(size_bytes: int | None, platform: Platform) -> tuple[tuple[str, str], ...]:
    """The share dataset's properties (the refquota in whole MiB, which ``zfs`` accepts as ``<n>M``)."""
    props = [("compression", "lz4"), ("atime", "off")]
    if platform == "linux":
        props.append(("xattr", "sa"))
    if size_bytes is not None:
        props.append(("refquota", f"{max(1, size_bytes // MIB)}M"))
    return tuple(props)


def cnid_properties(platform: Platform) -> tuple[tuple[str, str], ...]:
    props = [("compression", "lz4"), ("atime", "off")]
    if platform == "linux":
        props.append(("xattr", "sa"))
    return tuple(props)


def _check_share_name(share: str) -> None:
    if not share or len(share) > 27 or not re.fullmatch(r"[^\[\]/:\n=]+", share) or share.strip() != share:
        raise UsageError(f"share name {share!r} cannot be a volume name: use at most 27 characters, none of [ ] / : =")


def afp_stanza(
    share: str, *, path: str, db_dir: str, size_bytes: int | None, platform: Platform, valid_users: tuple[str, ...]
) -> str:
    """The afp.conf volume section: Time Machine on, CNID database on its own dataset, a size limit below quota."""
    # netatalk 4 serves a section without `volume name` under its lower-cased name: say the name as written.
    lines = [f"[{share}]", f"volume name = {share}", f"path = {path}", "time machine = yes", f"vol dbpath = {db_dir}"]
    if size_bytes is not None:
        lines.append(f"vol size limit = {max(1, size_bytes // MIB)}")
    if platform == "illumos":
        lines.append("cnid dev = no")
    if valid_users:
        lines.append(f"valid users = {' '.join(valid_users)}")
    return "\n".join(lines) + "\n"


def smb_stanza(share: str, path: str, size_bytes: int | None, valid_users: tuple[str, ...]) -> str:
    """The smb.conf share: vfs_fruit's Time Machine support (Samba needs no CNID database)."""
    lines = [
        f"[{share}]",
        f"   path = {path}",
        "   read only = no",
        "   vfs objects = catia fruit streams_xattr",
        "   fruit:time machine = yes",
    ]
    if size_bytes is not None:
        lines.append(f"   fruit:time machine max size = {max(1, size_bytes // MIB)}M")
    if valid_users:
        lines.append(f"   valid users = {' '.join(valid_users)}")
    return "\n".join(lines) + "\n"


def plan_provision(
    request: ProvisionRequest, *, existing: frozenset[str], mountpoints: dict[str, str], force: bool
) -> ProvisionPlan:
    """The plan for ``request`` given which datasets exist and where they are (or will be) mounted.

    An existing share dataset is refused unless ``force`` (then only its properties are set; nothing is destroyed);
    an existing CNID dataset is reused as is, because several shares normally share one.
    """
    _check_share_name(request.share)
    if request.dataset.full in existing and not force:
        raise UsageError(
            f"dataset {request.dataset.full} already exists: provision a new dataset, or pass --force to set "
            "the share properties on it (nothing is destroyed)"
        )
    steps = [DatasetStep(request.dataset, share_properties(request.size_bytes, request.platform),
                         request.dataset.full in existing)]  # fmt: skip
    path = mountpoints[request.dataset.full]
    advice: list[str] = []
    db_dir: str | None = None
    if request.server == FileServerKind.NETATALK:
        cnid = request.cnid_dataset or default_cnid_dataset(request.dataset)
        if cnid == request.dataset:
            raise UsageError(f"the CNID dataset must differ from the share {request.dataset.full}")
        cnid_exists = cnid.full in existing
        steps.append(DatasetStep(cnid, cnid_properties(request.platform), cnid_exists, shared=cnid_exists))
        db_dir = f"{mountpoints[cnid.full].rstrip('/')}/{request.share}/"
        stanza = afp_stanza(
            request.share,
            path=path,
            db_dir=db_dir,
            size_bytes=request.size_bytes,
            platform=request.platform,
            valid_users=request.valid_users,
        )
        if request.platform == "illumos":
            advice.append(
                "cnid dev = no: on illumos a dataset's device number can change (reboot, import, the clone swap of "
                "a rollback), and netatalk would then treat every file as new and hand out new CNIDs"
            )
        advice.append(f"zfstm snapshots {cnid.full} in the same transaction group as {request.dataset.full}")
        advice.append(
            "to snapshot the moment a backup ends (docs/events.md), add to afp.conf's [Global]: "
            + "; ".join(fce_global_lines())
            + f'; to zfstm.toml: [events] fce_listener = "127.0.0.1:{DEFAULT_FCE_PORT}"; and run `zfstm daemon`'
        )
    else:
        stanza = smb_stanza(request.share, path, request.size_bytes, request.valid_users)
        advice.append("Samba keeps no CNID database; set `fruit:metadata = stream` etc. in [global] as you prefer")
        advice.append(
            "to snapshot the moment a backup ends (docs/events.md), add to the share: "
            'root postexec = zfstm notify --source samba --path "%P"; to zfstm.toml: '
            f'[events] fce_listener = "127.0.0.1:{DEFAULT_FCE_PORT}"; and run `zfstm daemon`'
        )
    if request.size_bytes is not None:
        advice.append(
            "the size limit Time Machine sees equals the refquota; snapshots are not charged to the refquota, "
            "so leave room in the pool for them"
        )
    return ProvisionPlan(request, tuple(steps), stanza, db_dir, tuple(advice))


def config_change(existing: str | None, stanza: str, share: str, source: str, *, force: bool) -> ConfigChange:
    """How ``stanza`` gets into the configuration file whose current text is ``existing`` (None: no file).

    A section of the same name (compared case-insensitively, as netatalk and Samba do) is never overwritten unless
    ``force``; everything else in the file is kept byte for byte.
    """
    if existing is None:
        return ConfigChange("create", stanza, f"{source} does not exist: create it with the share")
    doc = parse_ini(existing, source)
    section = next((sec for sec in doc.sections if sec.key == share.lower()), None)
    if section is None:
        sep = "" if existing.endswith("\n") or not existing else "\n"
        return ConfigChange("append", existing + sep + "\n" + stanza, f"append [{share}] to {source}")
    lines = existing.splitlines(keepends=True)
    start = section.line - 1
    later = [sec.line - 1 for sec in doc.sections if sec.line > section.line]
    end = min(later) if later else len(lines)
    current = "".join(lines[start:end])
    if current.strip() == stanza.strip():
        return ConfigChange("unchanged", existing, f"[{share}] in {source} already says this")
    if not force:
        raise UsageError(
            f"{source} already has a section [{section.name}] (line {section.line}): refusing to overwrite it; "
            "remove it, choose another --share name, or pass --force to replace that section"
        )
    tail = "\n" if end < len(lines) else ""
    return ConfigChange(
        "replace",
        "".join(lines[:start]) + stanza + tail + "".join(lines[end:]),
        f"replace [{section.name}] in {source}",
    )


def effective_valid_users(valid_users: Sequence[str], owner: str | None) -> tuple[str, ...]:
    """``--valid-users`` when given, else the ``--owner`` alone: the share's owner is the one who may use it."""
    if valid_users:
        return tuple(valid_users)
    return (owner,) if owner else ()


def target_snippet(plan: ProvisionPlan, name: str) -> str:
    """The ``[[targets]]`` entry for zfstm.toml that goes with this share (a Samba share says so: the default server
    is Netatalk)."""
    lines = ["[[targets]]", f'name = "{name}"', f'dataset = "{plan.request.dataset.full}"']
    cnid = next((step.name for step in plan.datasets[1:]), None)
    if cnid is not None:
        lines.append(f'cnid_dataset = "{cnid.full}"')
    if plan.request.server == FileServerKind.SAMBA:
        lines += ["[targets.file_server]", 'kind = "samba"']
        if plan.request.platform == "illumos":
            lines.append('service = "svc:/..."  # required on illumos: the FMRI of your smbd service')
    return "\n".join(lines) + "\n"


def plan_json(plan: ProvisionPlan, change: ConfigChange | None) -> dict[str, object]:
    return {
        "share": plan.request.share,
        "server": plan.request.server,
        "platform": plan.request.platform,
        "datasets": [
            {"name": s.name.full, "action": s.action, "properties": dict(s.properties)} for s in plan.datasets
        ],
        "db_dir": plan.db_dir,
        "stanza": plan.stanza,
        "config": None if change is None else {"action": change.action, "reason": change.reason},
        "advice": list(plan.advice),
    }


def plan_text(plan: ProvisionPlan, change: ConfigChange | None, target: str) -> str:
    out = [f"Provision Time Machine share {plan.request.share!r} ({plan.request.server}, {plan.request.platform}):"]
    for step in plan.datasets:
        props = " ".join(f"{k}={v}" for k, v in step.properties)
        out.append(f"  {step.action:<15} {step.name.full}" + (f"  {props}" if step.action != "reuse" else ""))
    out.append(f"  config: {change.reason if change else 'print the stanza (no --write-config)'}")
    out.append("")
    out.append("Stanza:")
    out.extend(f"  {line}" for line in plan.stanza.rstrip("\n").split("\n"))
    out.append("")
    out.append("zfstm.toml:")
    out.extend(f"  {line}" for line in target_snippet(plan, target).rstrip("\n").split("\n"))
    if plan.advice:
        out.append("")
        out.extend(f"note: {line}" for line in plan.advice)
    return "\n".join(out) + "\n"
