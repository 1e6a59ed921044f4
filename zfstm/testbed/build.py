"""Build the testbed image from Debian packages: debootstrap, DKMS-built OpenZFS, netatalk, then an ext4 image.

The result lives in the cache under the recipe's hash: ``vmlinuz``, ``initrd.img``, ``disk.img`` and
``manifest.json`` (package versions). A build happens in a temporary directory next to it and is renamed into
place only when complete, so a killed build never leaves a half image behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import lzma
import os
import shutil
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from zfstm.errors import TestbedError
from zfstm.testbed.host import cache_root, debian_mirror, require_tools
from zfstm.testbed.progress import Progress
from zfstm.testbed.recipe import PYC_PREFIX, Recipe, SideRoot

GUEST_INIT_PATH = "usr/local/sbin/zfstm-guest-init"
REPORTED_PACKAGES = ("linux-image-amd64", "zfs-dkms", "zfsutils-linux", "python3-pyzfs", "python3", "netatalk")


def image_dir(recipe: Recipe) -> Path:
    return cache_root() / recipe.key()


def is_built(recipe: Recipe) -> bool:
    return (image_dir(recipe) / "manifest.json").is_file()


def build(recipe: Recipe, *, force: bool = False) -> Path:
    """Build the image unless the cache already has it; return its directory."""
    target = image_dir(recipe)
    if is_built(recipe) and not force:
        return target
    require_tools(("debootstrap", "mkfs.ext4"), "build its image")
    if os.geteuid() != 0:
        raise TestbedError("building the testbed image needs root (debootstrap and chroot); run it as root")
    cache_root().mkdir(parents=True, exist_ok=True)
    with _build_lock():
        if is_built(recipe) and not force:
            return target
        mirror = debian_mirror()
        with tempfile.TemporaryDirectory(prefix=f".build-{recipe.key()}-", dir=cache_root()) as tmp:
            work = Path(tmp)
            _build_into(recipe, mirror, work)
            if target.exists():
                shutil.rmtree(target)
            (work / "image").rename(target)
    return target


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    with (cache_root() / ".build.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _build_into(recipe: Recipe, mirror: str, work: Path) -> None:
    rootfs = work / "root"
    image = work / "image"
    image.mkdir()
    log_path = image / "build.log"
    progress = Progress(total_phases=7)
    started = time.monotonic()
    with log_path.open("w") as log:
        runner = _Runner(log, progress)
        progress.start_phase(f"debootstrap {recipe.suite} ({len(recipe.base_packages)} packages + DKMS build of zfs)")
        _base_system(recipe, mirror, rootfs, runner)
        side = recipe.netatalk31
        progress.start_phase(f"debootstrap {side.suite} into {side.path} (netatalk 3.1, served from a chroot)")
        _side_root(side, mirror, rootfs, runner)
        try:
            with _chroot_mounts(rootfs):
                progress.start_phase("configure base and install netatalk, pyzfs and test tools")
                _write(rootfs / "usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", mode=0o755)
                apt_env = {"DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C.UTF-8"}
                runner.run(["chroot", str(rootfs), "apt-get", "update"], env=apt_env)
                runner.run(["chroot", str(rootfs), "apt-get", "--fix-broken", "install", "-y"], env=apt_env)
                runner.run(
                    [
                        "chroot",
                        str(rootfs),
                        "apt-get",
                        "install",
                        "-y",
                        "--no-install-recommends",
                        *recipe.extra_packages,
                    ],
                    env=apt_env,
                )
                progress.start_phase("check the zfs kernel module")
                kernel = _ensure_zfs_module(rootfs, runner)
                progress.start_phase("set up guest init and users")
                _configure_guest(recipe, rootfs, runner)
                _small_initramfs(recipe, rootfs, kernel, runner)
                _precompile_python(rootfs, runner)
                versions = _package_versions(rootfs)
                side_versions = _package_versions(rootfs / side.path.lstrip("/"), ("netatalk", "libdb5.3"))
                runner.run(["chroot", str(rootfs), "apt-get", "clean"])
                (rootfs / "usr/sbin/policy-rc.d").unlink()
        finally:
            _assert_unmounted(rootfs)
        progress.start_phase(f"make the {recipe.disk_size} ext4 disk image")
        shutil.copyfile(rootfs / "boot" / f"vmlinuz-{kernel}", image / "vmlinuz")
        shutil.copyfile(rootfs / "boot" / f"initrd.img-{kernel}", image / "initrd.img")
        runner.run(
            ["mkfs.ext4", "-q", "-F", "-L", "zfstm-root", "-d", str(rootfs), str(image / "disk.img"), recipe.disk_size]
        )
        progress.start_phase("clean up")
        shutil.rmtree(rootfs)
        manifest = {
            "key": recipe.key(),
            "kernel": kernel,
            "packages": versions,
            "netatalk31": {"root": side.path, "suite": side.suite, "packages": side_versions},
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.monotonic() - started, 1),
            "recipe": {"suite": recipe.suite, "extra_packages": list(recipe.extra_packages)},
        }
        (image / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        progress.done(f"testbed image {recipe.key()} built")


def _debootstrap_stage(
    stage: Path, options: Sequence[str], suite: str, mirror: str, *, runner: _Runner, check: Callable[[Path], None]
) -> Path:
    """``stage/root`` made by debootstrap once and cached (a stage without its DONE mark is made again); ``check``
    judges the fresh root before the mark is written. The slow part of a build: it is kept so a later step can be
    retried."""
    if not (stage / "DONE").is_file():
        if stage.exists():
            _assert_unmounted(stage)
            shutil.rmtree(stage)
        stage.mkdir(parents=True)
        runner.run(["debootstrap", "--variant=minbase", *options, suite, str(stage / "root"), mirror])
        check(stage / "root")
        (stage / "DONE").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))
    return stage / "root"


def _base_system(recipe: Recipe, mirror: str, rootfs: Path, runner: _Runner) -> None:
    """debootstrap of the image's own root (it builds zfs.ko with DKMS)."""
    options = [f"--components={','.join(recipe.components)}", f"--include={','.join(recipe.base_packages)}"]
    stage = cache_root() / f"debootstrap-{recipe.base_key()}"
    root = _debootstrap_stage(stage, options, recipe.suite, mirror, runner=runner, check=lambda _root: None)
    runner.run(["cp", "-a", str(root), str(rootfs)])


def _side_root(side: SideRoot, mirror: str, rootfs: Path, runner: _Runner) -> None:
    """debootstrap an older suite (netatalk 3.1 from bullseye), cached like the base stage, into ``side.path``.

    minbase with --include was seen to leave this root complete (dpkg --audit empty); it is checked anyway, since a
    half-configured netatalk would only show as a login failure in some test much later.
    """
    stage = cache_root() / f"debootstrap-{side.suite}-{side.key()}"
    root = _debootstrap_stage(
        stage,
        [f"--include={','.join(side.packages)}"],
        side.suite,
        mirror,
        runner=runner,
        check=_no_unconfigured_packages,
    )
    target = rootfs / side.path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    runner.run(["cp", "-a", str(root), str(target)])
    # No network in the guest: resolve the guest's own name locally, as the image's root does.
    _write(target / "etc/hosts", "127.0.0.1 localhost zfstm-testbed\n::1 localhost\n")
    _write(target / "etc/hostname", "zfstm-testbed\n")
    for mountpoint in ("proc", "sys", "dev", "run", "tmp"):
        (target / mountpoint).mkdir(exist_ok=True)


def _no_unconfigured_packages(root: Path) -> None:
    audit = subprocess.run(["chroot", str(root), "dpkg", "--audit"], capture_output=True, text=True, check=False)
    if audit.returncode != 0 or audit.stdout.strip():
        raise TestbedError(f"{root} has unconfigured packages:\n{audit.stdout}{audit.stderr}")


class _Runner:
    """Runs build commands with their output in the build log and its latest line on the progress display."""

    def __init__(self, log: TextIO, progress: Progress) -> None:
        self.log = log
        self.progress = progress

    def run(self, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        log = self.log
        log.write(f"$ {' '.join(argv)}\n")
        tail: deque[str] = deque(maxlen=25)
        full_env = {**os.environ, **(env or {})}
        with subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            text=True,
            errors="replace",
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                tail.append(line)
                self.progress.detail(line)
        if proc.returncode != 0:
            raise TestbedError(
                f"testbed build step failed with exit {proc.returncode}: {' '.join(argv[:4])} …\n" + "".join(tail)
            )


@contextlib.contextmanager
def _chroot_mounts(rootfs: Path) -> Iterator[None]:
    mounted: list[Path] = []
    try:
        for source, target, args in (
            ("proc", rootfs / "proc", ["-t", "proc"]),
            ("sysfs", rootfs / "sys", ["-t", "sysfs"]),
            ("/dev", rootfs / "dev", ["--bind"]),
            ("devpts", rootfs / "dev/pts", ["-t", "devpts"]),
        ):
            target.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", *args, source, str(target)], check=True)
            mounted.append(target)
        yield
    finally:
        for target in reversed(mounted):
            subprocess.run(["umount", "-l", str(target)], check=False)


def _assert_unmounted(rootfs: Path) -> None:
    """Never delete a tree that still has the host's /dev or /proc mounted inside it."""
    prefix = str(rootfs.resolve()) + "/"
    still = [
        line.split()[1] for line in Path("/proc/mounts").read_text().splitlines() if line.split()[1].startswith(prefix)
    ]
    if still:
        raise TestbedError(
            f"refusing to continue: still mounted inside the build tree: {', '.join(still)}; unmount them by hand"
        )


def _ensure_zfs_module(rootfs: Path, runner: _Runner) -> str:
    kernels = sorted(
        p.name for p in (rootfs / "lib/modules").iterdir() if (p / "modules.dep").exists() or (p / "kernel").is_dir()
    )
    if len(kernels) != 1:
        raise TestbedError(f"expected one kernel in the image, found {kernels}")
    kernel = kernels[0]
    if not list((rootfs / "lib/modules" / kernel).rglob("zfs.ko*")):
        runner.run(["chroot", str(rootfs), "dkms", "autoinstall", "-k", kernel])
    if not list((rootfs / "lib/modules" / kernel).rglob("zfs.ko*")):
        raise TestbedError(f"DKMS did not build zfs.ko for kernel {kernel}; see the build log")
    _decompress_modules(rootfs / "lib/modules" / kernel / "updates")
    runner.run(["chroot", str(rootfs), "depmod", "-a", kernel])
    return kernel


def _decompress_modules(tree: Path) -> None:
    """Store the DKMS-built modules uncompressed: the guest kernel's own xz decompression of the 1.8 MB zfs.ko.xz
    took most of the ~9 s `modprobe zfs` spent under TCG (openzfs_init itself: 0.9 s, seen with initcall_debug)."""
    for packed in sorted(tree.rglob("*.ko.xz")):
        packed.with_suffix("").write_bytes(lzma.decompress(packed.read_bytes()))
        packed.unlink()


def _precompile_python(rootfs: Path, runner: _Runner) -> None:
    """Byte-compile the guest's Python library into PYC_PREFIX, where the guest's Python looks (PYTHONPYCACHEPREFIX,
    set by guest-init.sh): the checkout at /src is read-only, and without a writable cache every `zfstm` process in
    the VM compiled all of zfstm again (a bare `zfstm --help` took 26 s under TCG). Compiling here runs at native
    speed; zfstm's own modules are compiled once per VM, by the first process that imports them."""
    libraries = sorted(f"/{p.relative_to(rootfs)}" for p in (rootfs / "usr/lib").glob("python3*") if p.is_dir())
    program = "import compileall, sys; [compileall.compile_dir(d, quiet=2, workers=0) for d in sys.argv[1:]]"
    runner.run(
        ["chroot", str(rootfs), "python3", "-c", program, *libraries],
        env={"PYTHONPYCACHEPREFIX": PYC_PREFIX, "PYTHONDONTWRITEBYTECODE": ""},
    )


def _configure_guest(recipe: Recipe, rootfs: Path, runner: _Runner) -> None:
    _write(rootfs / GUEST_INIT_PATH, recipe.guest_init, mode=0o755)
    _write(rootfs / "etc/hostname", "zfstm-testbed\n")
    _write(rootfs / "etc/hosts", "127.0.0.1 localhost zfstm-testbed\n::1 localhost\n")
    for user, _password in recipe.users:
        runner.run(["chroot", str(rootfs), "useradd", "--create-home", "--shell", "/bin/sh", user])
    chpasswd = "".join(f"{user}:{password}\n" for user, password in recipe.users)
    subprocess.run(["chroot", str(rootfs), "chpasswd"], input=chpasswd, text=True, check=True)


def _small_initramfs(recipe: Recipe, rootfs: Path, kernel: str, runner: _Runner) -> None:
    """Rebuild the initrd with only the modules the guest needs to mount its root (a faster warm start)."""
    _write(rootfs / "etc/initramfs-tools/conf.d/zfstm", "MODULES=list\n")
    _write(rootfs / "etc/initramfs-tools/modules", "".join(f"{name}\n" for name in recipe.initramfs_modules))
    runner.run(["chroot", str(rootfs), "update-initramfs", "-u", "-k", kernel])


def _package_versions(rootfs: Path, packages: Sequence[str] = REPORTED_PACKAGES) -> dict[str, str]:
    out = subprocess.run(
        ["chroot", str(rootfs), "dpkg-query", "-W", "-f", "${Package} ${Version}\n", *packages],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
