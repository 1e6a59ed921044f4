"""Boot the testbed image under QEMU, run one command against a fresh pool, stream its output, tear it all down.

The image is never written: its disk is attached with ``snapshot=on``. The checkout is shared read-only over 9p;
a second 9p share carries the command in and its exit status and output files back. The command's output
arrives on the guest's second serial port, which QEMU writes to a file that this module follows.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Protocol

import attrs

from zfstm.errors import TestbedError
from zfstm.testbed.build import GUEST_INIT_PATH, image_dir, is_built
from zfstm.testbed.host import cache_root, require_tools
from zfstm.testbed.recipe import Recipe

#: Exit statuses of `run` when the command itself never reported one.
EXIT_TIMEOUT = 124
EXIT_TESTBED_FAILED = 125
EXIT_INTERRUPTED = 130


class TextSink(Protocol):
    """Where the command's output goes: sys.stdout, or anything with write and flush."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


@attrs.frozen
class VmSpec:
    """How to boot one throwaway VM."""

    image: Path
    src: Path
    io: Path
    pool_disk: Path
    memory_mb: int = 4096
    cpus: int = 2
    #: Plain qemu64: with `-cpu max` ZFS picks AVX2/AVX-512 checksum and SIMD code, which TCG emulates slowly.
    cpu_model: str = os.environ.get("ZFSTM_TESTBED_CPU", "qemu64")
    #: Appended to the kernel command line, for looking into the guest's boot (e.g. ``initcall_debug``).
    extra_kernel_args: str = os.environ.get("ZFSTM_TESTBED_KERNEL_ARGS", "")


def qemu_argv(spec: VmSpec, console_log: Path, output_log: Path) -> list[str]:
    """The QEMU command line (pure, so the tests can read it)."""
    append = " ".join(
        (
            "console=ttyS0",
            "root=/dev/vda",
            "rw",
            f"init=/{GUEST_INIT_PATH}",
            "quiet",
            "loglevel=3",
            "panic=-1",
            "mitigations=off",
            # No boot-time self-tests of the kernel's crypto algorithms (~3 s under TCG; nothing here depends on them).
            "cryptomgr.notests",
            "fastboot",  # the initramfs skips fsck of the root disk (a fresh copy-on-write view of the image)
            "zfs.zfs_arc_max=536870912",
            *spec.extra_kernel_args.split(),
        )
    )
    return [
        "qemu-system-x86_64",
        "-nodefaults",
        "-display",
        "none",
        "-no-reboot",
        "-accel",
        "tcg,thread=multi",
        "-cpu",
        spec.cpu_model,
        "-m",
        str(spec.memory_mb),
        "-smp",
        str(spec.cpus),
        "-kernel",
        str(spec.image / "vmlinuz"),
        "-initrd",
        str(spec.image / "initrd.img"),
        "-append",
        append,
        "-drive",
        f"file={spec.image / 'disk.img'},format=raw,if=virtio,snapshot=on",
        "-drive",
        f"file={spec.pool_disk},format=raw,if=virtio,cache=unsafe",
        # Entropy for the guest: without it `zpool create` waits ~5 s for the kernel's random pool.
        "-device",
        "virtio-rng-pci",
        "-virtfs",
        f"local,path={spec.src},mount_tag=src,security_model=none,readonly=on",
        "-virtfs",
        f"local,path={spec.io},mount_tag=io,security_model=none",
        "-serial",
        f"file:{console_log}",
        "-serial",
        f"file:{output_log}",
        "-monitor",
        "none",
    ]


def default_src() -> Path:
    """The checkout this zfstm was imported from."""
    return Path(__file__).resolve().parents[2]


def run(
    argv: Sequence[str],
    *,
    recipe: Recipe | None = None,
    src: Path | None = None,
    out: Path | None = None,
    timeout: float = 3600.0,
    pool_size_gb: int = 8,
    memory_mb: int = 4096,
    stdout: TextSink = sys.stdout,
    systemd: bool = False,
) -> int:
    """Run ``argv`` in a fresh VM; return its exit status (124 timeout, 125 testbed failure, 130 interrupted).

    ``systemd``: the guest boots systemd as PID 1 (to basic.target) and runs ``argv`` as a unit of it, for tests
    of the installed service units; the default boot has no init system and is faster.
    """
    if not argv:
        raise TestbedError("nothing to run: give a command after --, e.g. -- zpool status")
    if _STOPPING.is_set():
        return EXIT_INTERRUPTED
    require_tools(("qemu-system-x86_64",), "boot")
    recipe = recipe or Recipe()
    if not is_built(recipe):
        raise TestbedError(f"the testbed image {recipe.key()} is not built yet: run `python -m zfstm.testbed build`")
    with _vm_slot(), tempfile.TemporaryDirectory(prefix="zfstm-vm-") as tmp:
        work = Path(tmp)
        io_dir = work / "io"
        io_dir.mkdir()
        (io_dir / "argv.json").write_text(json.dumps(list(argv)))
        if systemd:
            (io_dir / "systemd").touch()  # read by guest-init.sh
        pool_disk = work / "pool.img"
        with pool_disk.open("wb") as handle:
            handle.truncate(pool_size_gb * 1024**3)
        spec = VmSpec(
            image=image_dir(recipe),
            src=(src or default_src()).resolve(),
            io=io_dir,
            pool_disk=pool_disk,
            memory_mb=memory_mb,
        )
        console_log, output_log = work / "console.log", work / "output.log"
        output_log.touch()
        status = _boot_and_follow(spec, console_log, output_log, timeout, stdout)
        if out is not None:
            if (io_dir / "out").is_dir():
                shutil.copytree(io_dir / "out", out, dirs_exist_ok=True)
            if console_log.exists():
                out.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(console_log, out / "console.log")
        if status == EXIT_TESTBED_FAILED:
            print(crash_report(console_log), file=sys.stderr)
        return status


#: Where the console log of a VM that died without a command status is kept (the run's directory goes away).
CRASH_DIR = "crashes"
_OOPS_MARKERS = ("BUG:", "Oops:", "general protection fault", "Kernel panic", "kernel BUG", "WARNING:")


def oops_head(console: str, lines: int = 30) -> str:
    """The first lines of the guest kernel's first oops or panic (the tail alone loses what went wrong)."""
    text = console.splitlines()
    for index, line in enumerate(text):
        if any(marker in line for marker in _OOPS_MARKERS):
            return "\n".join(text[index : index + lines])
    return ""


def crash_report(console_log: Path) -> str:
    """What to print when the VM died without a command status: the oops, the tail, and a kept copy of the log."""
    if not console_log.exists():
        return "zfstm.testbed: the VM ended without a command status (no console log)"
    console = console_log.read_text(errors="replace")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    kept = cache_root() / CRASH_DIR / f"console-{stamp}-{os.getpid()}-{threading.get_ident()}.log"
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(console_log, kept)
    head = oops_head(console)
    parts = ["zfstm.testbed: the VM ended without a command status (the guest crashed or QEMU died)."]
    if head:
        parts.append(f"First oops in the guest's console:\n{head}")
    parts.append(f"Console log tail:\n{console[-2000:]}")
    parts.append(f"Whole console log kept at {kept}")
    return "\n".join(parts)


_LIVE: set[subprocess.Popen[bytes]] = set()


_STOPPING = threading.Event()


def stop_all() -> None:
    """Stop every VM this process started, and start no more (for callers that run VMs in threads: a lane's next
    test file must not boot a fresh VM after Ctrl-C or SIGTERM, which it did)."""
    _STOPPING.set()
    for proc in list(_LIVE):
        _stop(proc)


class Stopped(Exception):
    """SIGTERM or SIGHUP reached the host process: the VM must still be torn down."""


def _raise_stopped(signum: int, _frame: object) -> None:
    raise Stopped(signal.Signals(signum).name)


@contextlib.contextmanager
def signals_stop_the_vm() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into an exception while a VM runs (main thread only; other threads rely on it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


#: Seconds a guest may take to power off once its command's status is written (export, sync, reboot: ~5 s).
SHUTDOWN_GRACE = 120.0


def _boot_and_follow(spec: VmSpec, console_log: Path, output_log: Path, timeout: float, stdout: TextSink) -> int:
    booted_at = time.monotonic()
    deadline = booted_at + timeout
    started_flag = spec.io / "started"
    rc_file = spec.io / "rc"
    finished_at: float | None = None
    announced = False
    proc = subprocess.Popen(
        qemu_argv(spec, console_log, output_log),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _LIVE.add(proc)
    try:
        with signals_stop_the_vm(), output_log.open("rb") as follow:
            while True:
                if not announced and started_flag.exists():
                    announced = True
                    seconds = time.monotonic() - booted_at
                    print(
                        f"zfstm.testbed: VM booted, pool ready, command started after {seconds:.1f} s", file=sys.stderr
                    )
                _copy_new(follow, stdout)
                if proc.poll() is not None:
                    _copy_new(follow, stdout)
                    break
                if finished_at is None and rc_file.is_file():
                    finished_at = time.monotonic()
                if finished_at is not None and time.monotonic() - finished_at > SHUTDOWN_GRACE:
                    # The command's status is in; a guest that hangs on its way down (a pool held busy) is stopped.
                    _copy_new(follow, stdout)
                    print(
                        f"zfstm.testbed: the guest did not power off {SHUTDOWN_GRACE:.0f} s after its command; stopped",
                        file=sys.stderr,
                    )
                    break
                if time.monotonic() > deadline:
                    print(f"\nzfstm.testbed: timed out after {timeout:.0f} s; stopping the VM", file=sys.stderr)
                    return EXIT_TIMEOUT
                time.sleep(0.05)
    except (KeyboardInterrupt, Stopped) as exc:
        print(f"\nzfstm.testbed: {exc or 'interrupted'}; stopping the VM", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        qemu_said = _stop(proc)
        _LIVE.discard(proc)
    if rc_file.is_file():
        return int(rc_file.read_text().strip() or EXIT_TESTBED_FAILED)
    if qemu_said:
        print(f"zfstm.testbed: qemu said: {qemu_said}", file=sys.stderr)
    return EXIT_TESTBED_FAILED


def _copy_new(follow: IO[bytes], stdout: TextSink) -> None:
    chunk = follow.read()
    if chunk:
        stdout.write(chunk.decode(errors="replace").replace("\r\n", "\n").replace("\r", ""))
        stdout.flush()


def _stop(proc: subprocess.Popen[bytes]) -> str:
    """Stop QEMU (if it still runs) and return what it wrote on stderr."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    said = ""
    if proc.stderr is not None:
        with contextlib.suppress(OSError, ValueError):
            said = proc.stderr.read().decode(errors="replace").strip()
        with contextlib.suppress(OSError):
            proc.stderr.close()
    return said


@contextlib.contextmanager
def _vm_slot() -> Iterator[None]:
    """At most ZFSTM_TESTBED_SLOTS VMs at once on this machine (default 2): software emulation is CPU-bound."""
    slots = max(1, int(os.environ.get("ZFSTM_TESTBED_SLOTS", "2")))
    lock_dir = cache_root() / "slots"
    lock_dir.mkdir(parents=True, exist_ok=True)
    announced = False
    while True:
        for number in range(slots):
            handle = (lock_dir / f"slot-{number}").open("w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield
            finally:
                handle.close()
            return
        if not announced:
            print(f"zfstm.testbed: waiting for one of {slots} VM slots on this machine", file=sys.stderr)
            announced = True
        time.sleep(1)
