"""The configuration as frozen values: targets, their file server, retention, detector, check thresholds, naming,
backend, paths.

Everything has a default except each target's dataset. The values here are already checked (``zfstm.config.load``
builds them from TOML text and reports every problem with file, line and key); code that receives a ``Config``
never validates again. Platform-dependent defaults (paths, service names) are chosen by :func:`platform_defaults`
from a platform string, so tests can ask for illumos' defaults on Linux.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from enum import StrEnum

import attrs

from zfstm.check.verdict import Thresholds
from zfstm.events.model import EventsConfig
from zfstm.naming import DEFAULT_SCHEME, NamingScheme
from zfstm.retention.policy import DEFAULT_POLICY, Policy
from zfstm.timemachine.detector import DetectorSettings
from zfstm.timemachine.due import DuePolicy
from zfstm.volume.model import VolumeExport
from zfstm.zfs.names import DatasetName
from zfstm.zfs.prefix import CommandPrefix

#: Environment variable naming the configuration file (after ``--config``, before the platform default).
CONFIG_ENV = "ZFSTM_CONFIG"
LINUX_CONFIG_PATH = "/etc/zfstm/zfstm.toml"
#: SmartOS' global zone rebuilds /etc from a ramdisk at every boot; /opt persists.
SUNOS_CONFIG_PATH = "/opt/zfstm/etc/zfstm.toml"
DEFAULT_INTERVAL = timedelta(minutes=15)
DEFAULT_HOOK_TIMEOUT = timedelta(seconds=60)
#: What a hook's arguments may name; each ``{word}`` is replaced by its value for the event.
HOOK_PLACEHOLDERS = ("target", "dataset", "snapshot")


class FileServerKind(StrEnum):
    """What serves the share to the Macs."""

    NETATALK = "netatalk"
    SAMBA = "samba"
    NONE = "none"
    #: a volume target's iSCSI export: never a ``[file_server]`` kind (``[targets.volume]`` configures it), but the
    #: rollback takes it offline and brings it back where a file server would stop and start (zfstm.volume.control)
    ISCSI = "iscsi"


class ServiceAdapter(StrEnum):
    """How zfstm stops and starts the file server (zfstm.service adapters)."""

    SMF = "smf"
    SYSTEMD = "systemd"
    PIDFILE = "pidfile"


class BackendChoice(StrEnum):
    """Which ZFS backend to open (zfstm.zfs.open_backend)."""

    AUTO = "auto"
    LZC = "lzc"
    CLI = "cli"


@attrs.frozen
class PlatformDefaults:
    """Defaults that differ between Linux and illumos/SmartOS."""

    config_path: str
    adapter: ServiceAdapter
    netatalk_service: str
    samba_service: str | None
    afp_conf: str


def platform_defaults(platform: str = sys.platform) -> PlatformDefaults:
    """Linux: systemd units and /etc; illumos/SmartOS: SMF FMRIs and /opt (pkgsrc) paths."""
    if platform.startswith("sunos"):
        return PlatformDefaults(
            config_path=SUNOS_CONFIG_PATH,
            adapter=ServiceAdapter.SMF,
            netatalk_service="svc:/network/netatalk:default",
            samba_service=None,  # pkgsrc and OmniOS name it differently: the configuration must say
            afp_conf="/opt/local/etc/netatalk/afp.conf",  # pkgsrc net/netatalk3 (PKG_SYSCONFDIR)
        )
    return PlatformDefaults(
        config_path=LINUX_CONFIG_PATH,
        adapter=ServiceAdapter.SYSTEMD,
        netatalk_service="netatalk.service",
        samba_service="smbd.service",
        afp_conf="/etc/netatalk/afp.conf",
    )


@attrs.frozen
class FileServerConfig:
    """The server in front of a share. ``service`` is an FMRI (smf), a unit (systemd) or a pidfile (pidfile);
    ``start`` and ``program`` are only used by the pidfile adapter."""

    kind: FileServerKind = FileServerKind.NONE
    adapter: ServiceAdapter | None = None
    service: str | None = None
    afp_conf: str | None = None
    start: tuple[str, ...] = ()
    program: str | None = None


@attrs.frozen
class NamingConfig:
    """zfstm's own scheme (written) and the adopted ones (only read; their snapshots become managed)."""

    scheme: NamingScheme = DEFAULT_SCHEME
    adopted: tuple[NamingScheme, ...] = ()


#: ``[backend] remember``: after this, a tick lists every dataset again (zfstm.snapshots.memory).
DEFAULT_REMEMBER = timedelta(0)


@attrs.frozen
class BackendConfig:
    """``prefix`` runs zfs through another command (e.g. ``["ssh", "backup-host"]``); ``prefix_joins`` says whether
    that command re-joins its arguments through a shell (ssh does; sudo, runuser, pfexec do not)."""

    kind: BackendChoice = BackendChoice.AUTO
    prefix: tuple[str, ...] = ()
    prefix_joins: bool = True
    #: How long a tick may trust a dataset's remembered listing while its snapshots_changed stands still (0: never).
    remember: timedelta = DEFAULT_REMEMBER

    @property
    def command_prefix(self) -> CommandPrefix:
        return CommandPrefix(self.prefix, joins_arguments=self.prefix_joins)


@attrs.frozen
class Target:
    """One Time Machine share: the dataset zfstm snapshots, and how it watches and keeps it.

    ``share_path`` None means the dataset's mountpoint; ``sparsebundles`` None means every bundle found there.
    ``cnid_dataset`` is snapshotted in the same atomic call as ``dataset`` and pruned in lockstep with it.
    ``check`` is what `zfstm check` judges it by unless a flag says otherwise.
    ``replica`` marks a dataset that a replication engine (syncoid, zrepl) fills from another server: zfstm never
    snapshots it, moves no hold on it and refuses to roll it back, but prunes it on ``retention`` as usual.
    ``volume`` set makes it a volume target: ``dataset`` is a zvol exported over iSCSI or NBD, judged by its writes
    (zfstm.volume), with no share to read.
    """

    name: str
    dataset: DatasetName
    share_path: str | None = None
    cnid_dataset: DatasetName | None = None
    sparsebundles: tuple[str, ...] | None = None
    file_server: FileServerConfig = FileServerConfig()
    retention: Policy = DEFAULT_POLICY
    detector: DetectorSettings = attrs.field(factory=DetectorSettings)
    due: DuePolicy = attrs.field(factory=DuePolicy)
    check: Thresholds = attrs.field(factory=Thresholds)
    replica: bool = False
    volume: VolumeExport | None = None


@attrs.frozen
class HooksConfig:
    """Commands run after an event, as argument lists (never through a shell), each bounded by ``timeout``.

    ``after_known_good`` runs once per target whose known-good hold moved to a new snapshot in a tick (e.g. to wake
    a replication job); ``{target}``, ``{dataset}`` and ``{snapshot}`` in its arguments are replaced. A hook that
    fails or times out is logged and never fails the tick: the snapshot is already safe.
    """

    after_known_good: tuple[str, ...] = ()
    timeout: timedelta = DEFAULT_HOOK_TIMEOUT


@attrs.frozen
class Config:
    """A whole configuration file. ``source`` is the file it was read from (for messages)."""

    source: str
    targets: tuple[Target, ...]
    naming: NamingConfig = NamingConfig()
    backend: BackendConfig = BackendConfig()
    hooks: HooksConfig = HooksConfig()
    interval: timedelta = DEFAULT_INTERVAL
    run_dir: str | None = None
    state_dir: str | None = None
    events: EventsConfig = attrs.field(factory=EventsConfig)

    def target(self, name: str) -> Target | None:
        """The target called ``name`` (or whose dataset is ``name``), or None."""
        for target in self.targets:
            if name in {target.name, target.dataset.full}:
                return target
        return None
