"""What goes into the testbed image, as data, so that its hash can key the cache.

Everything that changes the image must be in here (package lists, the guest init, the users), and nothing that
does not (the mirror, paths on the host): two machines with different mirrors share one cache key.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources

import attrs

#: Bump when the build steps in build.py change in a way the lists below do not show.
BUILD_STEPS_VERSION = 8
#: Bump when the debootstrap step changes.
BASE_STEPS_VERSION = 1
#: Bump when the netatalk 3.1 root's debootstrap step changes.
NETATALK31_STEPS_VERSION = 1

SUITE = "trixie"
COMPONENTS = ("main", "contrib")

#: Installed by debootstrap itself: the kernel, the DKMS-built OpenZFS and what the guest init needs to boot.
BASE_PACKAGES = (
    "linux-image-amd64",
    "linux-headers-amd64",
    "zfs-dkms",
    "zfsutils-linux",
    "python3",
    "kmod",
    "util-linux",
    "iproute2",
    "procps",
    "initramfs-tools",
    "ca-certificates",
)

#: Installed with apt inside the chroot after `apt-get --fix-broken install` has configured the base.
EXTRA_PACKAGES = (
    "python3-pyzfs",
    "python3-ply",
    "python3-attr",  # Debian's binary package of attrs is python3-attr
    "python3-hypothesis",
    "python3-pytest",
    "python3-lxml",
    "tzdata",
    "netatalk",
    "netatalk-tools",
    "netatalk-tests",
    "db5.3-util",
    "attr",
    "passwd",
    "psmisc",
    "lsof",
    # systemd as PID 1 (the service lane boots the guest into it) and the file servers and tools the later
    # issues prove against: Samba (smbd, fruit:time machine) and its client, LIO iSCSI target and initiator for
    # volume targets, e2fsprogs for a filesystem on one (trixie has no hfsprogs), and sanoid's syncoid for replication.
    "systemd",
    "systemd-sysv",
    "dbus",
    "samba",
    "smbclient",
    "targetcli-fb",
    "open-iscsi",
    "e2fsprogs",
    "sanoid",
    "mbuffer",
    "pv",
    "lzop",
    # NBD, the second block export for volume targets (nbd-server serves a zvol, nbd-client attaches it).
    "nbd-server",
    "nbd-client",
)

#: Netatalk 3.1 (what SmartOS's pkgsrc ships): Debian bullseye's 3.1.12 cannot install into trixie (libssl1.1 and
#: others), so it gets a minimal bullseye root of its own inside the image, served from with chroot (guest_netatalk.py).
NETATALK31_SUITE = "bullseye"
#: bullseye's netatalk package carries dbd, ad and asip-status itself (no netatalk-tools split yet). dbus-x11 only
#: satisfies dconf-service's "default-dbus-session-bus | dbus-session-bus" (pulled in through netatalk's tracker
#: library), which debootstrap's resolver leaves open: without it, configuring the root failed (seen 2026-12-03).
NETATALK31_PACKAGES = ("netatalk", "db5.3-util", "attr", "dbus-x11")
#: Where the bullseye root lives inside the image.
NETATALK31_ROOT = "/opt/netatalk31"


@attrs.frozen
class SideRoot:
    """A second, older Debian root inside the image (its own debootstrap), for software trixie no longer has."""

    suite: str
    packages: tuple[str, ...]
    path: str

    def key(self) -> str:
        """A short hash of what its debootstrap installs: its result is cached on its own, like the base stage."""
        blob = json.dumps([self.suite, self.packages, NETATALK31_STEPS_VERSION]).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def netatalk31_root() -> SideRoot:
    return SideRoot(NETATALK31_SUITE, NETATALK31_PACKAGES, NETATALK31_ROOT)


#: Users that exist in the guest: the AFP login used by the tests, and an unprivileged user for delegation tests.
GUEST_USERS = (("tmuser", "tmpass"), ("zfsuser", "zfspass"))

DISK_SIZE = "4G"

#: Where the guest's Python keeps byte code (PYTHONPYCACHEPREFIX): the image's library is compiled there at build
#: time; /src is read-only, so zfstm's modules are compiled there by the first process of each VM.
PYC_PREFIX = "/var/cache/zfstm-pyc"

#: The only modules the guest's initramfs carries (Debian's default, MODULES=most, makes a 35 MB initrd whose udev
#: loads floppy, ATA and mouse drivers: ~6 s of a warm start under TCG). The rest load from the root disk.
INITRAMFS_MODULES = ("virtio_pci", "virtio_blk", "ext4", "crc32c_generic", "virtio_rng", "9pnet_virtio", "9p")


def guest_init_text() -> str:
    """The stub init baked into the image (PID 1 in the guest); it hands over to the checkout's guest-init.sh."""
    return resources.files("zfstm.testbed").joinpath("guest-stub.sh").read_text()


@attrs.frozen
class Recipe:
    """The full description of one testbed image."""

    suite: str = SUITE
    components: tuple[str, ...] = COMPONENTS
    base_packages: tuple[str, ...] = BASE_PACKAGES
    extra_packages: tuple[str, ...] = EXTRA_PACKAGES
    users: tuple[tuple[str, str], ...] = GUEST_USERS
    disk_size: str = DISK_SIZE
    initramfs_modules: tuple[str, ...] = INITRAMFS_MODULES
    guest_init: str = attrs.field(factory=guest_init_text)
    netatalk31: SideRoot = attrs.field(factory=netatalk31_root)
    steps_version: int = BUILD_STEPS_VERSION

    def base_key(self) -> str:
        """A short hash of what debootstrap installs: its result is cached on its own."""
        blob = json.dumps([self.suite, self.components, self.base_packages, BASE_STEPS_VERSION]).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def key(self) -> str:
        """A short hash of everything that shapes the image."""
        blob = json.dumps(attrs.asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
