"""What `zfstm service install` does on a platform, as a plan: files to write where, then commands. Pure.

The facts (kernel name and version, zone name, the zfstm executable, whether the service user exists) come in as
values; the shell (:mod:`zfstm.cli.service`) gathers them, prints the plan (a table or JSON) and, without
``--dry-run``, carries it out. Three platforms:

- ``linux``: the systemd units into ``/etc/systemd/system``, ``systemctl daemon-reload``, ``zfstm.timer`` enabled;
- ``smartos-global``: the SMF manifest into ``/opt/custom/smf`` (the global zone's ``/`` and ``/etc`` are rebuilt at
  boot; this directory is imported at every boot) and ``svccfg import``;
- ``illumos``: a SmartOS non-global zone or another illumos distribution, where the SMF repository persists: the
  manifest into ``/var/svc/manifest/site`` and ``svccfg import``.

Everything else (account method, example configuration, completion, man page) goes under ``/opt/zfstm`` on illumos
and ``/usr/local`` and ``/etc/zfstm`` on Linux. A ``root`` other than ``/`` stages the files below it (for
packaging and tests): then nothing is done to the running service manager, only ``systemctl --root=ROOT enable``
and ``svccfg validate``.
"""

from __future__ import annotations

import enum
from pathlib import PurePosixPath
from typing import Any

import attrs

from zfstm.errors import EnvironmentMissing, UsageError

SERVICE_USER = "zfstm"
#: The executable the shipped units and manifest name; the plan rewrites it to the one actually installed.
LINUX_UNIT_BIN = "/usr/local/bin/zfstm"
SMF_MANIFEST_BIN = "/opt/zfstm/bin/zfstm"


class Platform(enum.Enum):
    LINUX = "linux"
    SMARTOS_GLOBAL = "smartos-global"
    ILLUMOS = "illumos"


@attrs.frozen
class HostFacts:
    """``os.uname()``'s sysname and version, and ``zonename`` (None where there are no zones)."""

    sysname: str
    version: str
    zonename: str | None = None


def detect_platform(facts: HostFacts) -> Platform:
    """Linux; a SmartOS global zone (kernel version ``joyent_...``, zone ``global``); any other illumos."""
    if facts.sysname == "Linux":
        return Platform.LINUX
    if facts.sysname == "SunOS":
        if facts.zonename == "global" and facts.version.startswith("joyent_"):
            return Platform.SMARTOS_GLOBAL
        return Platform.ILLUMOS
    raise EnvironmentMissing(
        f"zfstm service install knows Linux (systemd) and illumos/SmartOS (SMF), not {facts.sysname}; "
        "use `zfstm service print NAME` and install by hand"
    )


def default_zfstm_bin(platform: Platform) -> str:
    return LINUX_UNIT_BIN if platform is Platform.LINUX else SMF_MANIFEST_BIN


@attrs.frozen
class FileWrite:
    """Write shipped file ``source`` (a `zfstm service print` name) to ``path`` with ``mode``, after replacing."""

    source: str
    path: str
    mode: int
    replace: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class Command:
    argv: tuple[str, ...]
    why: str


@attrs.frozen
class InstallPlan:
    platform: Platform
    root: str
    zfstm_bin: str
    files: tuple[FileWrite, ...]
    commands: tuple[Command, ...]
    next_steps: tuple[str, ...]


def render(write: FileWrite, text: str) -> str:
    """The file's text as written: the shipped text with the plan's replacements."""
    for old, new in write.replace:
        text = text.replace(old, new)
    return text


def staged_path(root: str, path: str) -> PurePosixPath:
    """``path`` (absolute, on the installed system) below ``root``."""
    return PurePosixPath(root) / PurePosixPath(path).relative_to("/")


def _extras(prefix: str) -> tuple[FileWrite, ...]:
    """Completion and the man page, below ``prefix`` in the places bash-completion, zsh and man search."""
    return (
        FileWrite("bash-completion", f"{prefix}/share/bash-completion/completions/zfstm", 0o644),
        FileWrite("zsh-completion", f"{prefix}/share/zsh/site-functions/_zfstm", 0o644),
        FileWrite("man", f"{prefix}/share/man/man1/zfstm.1", 0o644),
    )


def _linux(root: str, zfstm_bin: str, *, enable: bool, user_exists: bool) -> InstallPlan:
    bin_swap = ((LINUX_UNIT_BIN, zfstm_bin),) if zfstm_bin != LINUX_UNIT_BIN else ()
    units = "/etc/systemd/system"
    files = (
        FileWrite("zfstm.service", f"{units}/zfstm.service", 0o644, bin_swap),
        FileWrite("zfstm.timer", f"{units}/zfstm.timer", 0o644),
        FileWrite("zfstm-daemon.service", f"{units}/zfstm-daemon.service", 0o644, bin_swap),
        FileWrite("example-config", "/etc/zfstm/zfstm.toml.example", 0o644),
        *_extras("/usr/local"),
    )
    live = root == "/"
    commands: list[Command] = []
    if live and not user_exists:
        commands.append(
            Command(
                ("useradd", "--system", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", SERVICE_USER),
                "the unprivileged user the units run as",
            )
        )
    if live:
        commands.append(Command(("systemctl", "daemon-reload"), "systemd reads the new units"))
    if enable:
        argv = (
            ("systemctl", "enable", "zfstm.timer") if live else ("systemctl", f"--root={root}", "enable", "zfstm.timer")
        )
        commands.append(Command(argv, "a tick every 15 minutes from the next boot (start it once configured)"))
    steps = (
        "cp /etc/zfstm/zfstm.toml.example /etc/zfstm/zfstm.toml; edit it; zfstm config check",
        "zfs allow -u zfstm snapshot,destroy,mount,hold,release,userprop POOL/SHARE (and its CNID dataset)",
        "systemctl start zfstm.timer" if enable else "systemctl enable --now zfstm.timer (or zfstm-daemon.service)",
    )
    return InstallPlan(Platform.LINUX, root, zfstm_bin, files, tuple(commands), steps)


def _smf(platform: Platform, root: str, zfstm_bin: str) -> InstallPlan:
    manifest = (
        "/opt/custom/smf/zfstm.xml" if platform is Platform.SMARTOS_GLOBAL else "/var/svc/manifest/site/zfstm.xml"
    )
    bin_swap = ((SMF_MANIFEST_BIN + " ", zfstm_bin + " "),) if zfstm_bin != SMF_MANIFEST_BIN else ()
    files = (
        FileWrite("zfstm.xml", manifest, 0o444, bin_swap),
        FileWrite("zfstm-account", "/opt/zfstm/lib/svc/method/zfstm-account", 0o555),
        FileWrite("example-config", "/opt/zfstm/etc/zfstm.toml.example", 0o644),
        *_extras("/opt/zfstm"),
    )
    commands = [Command(("svccfg", "validate", str(staged_path(root, manifest))), "the manifest against the DTD")]
    if root == "/":
        commands.append(
            Command(("svccfg", "import", manifest), "creates zfstm (disabled) and zfstm-account (creates the user)")
        )
    steps = (
        "cp /opt/zfstm/etc/zfstm.toml.example /opt/zfstm/etc/zfstm.toml; edit it; zfstm config check",
        "zfs allow -u zfstm snapshot,destroy,mount,hold,release,userprop POOL/SHARE (and its CNID dataset)",
        "svcadm enable zfstm; svcs -xv zfstm",
    )
    return InstallPlan(platform, root, zfstm_bin, files, tuple(commands), steps)


def plan_install(
    platform: Platform, *, root: str = "/", zfstm_bin: str | None = None, enable: bool = True, user_exists: bool = True
) -> InstallPlan:
    """The files and commands that install zfstm's service on ``platform`` (below ``root``)."""
    if not root.startswith("/"):
        raise UsageError(f"--root must be an absolute path, not {root!r}")
    binary = zfstm_bin or default_zfstm_bin(platform)
    if not binary.startswith("/"):
        raise UsageError(f"the zfstm executable must be an absolute path, not {binary!r}")
    if platform is Platform.LINUX:
        return _linux(root, binary, enable=enable, user_exists=user_exists)
    return _smf(platform, root, binary)


def plan_json(plan: InstallPlan) -> dict[str, Any]:
    return {
        "platform": plan.platform.value,
        "root": plan.root,
        "zfstm": plan.zfstm_bin,
        "files": [
            {
                "source": write.source,
                "path": str(staged_path(plan.root, write.path)),
                "mode": f"{write.mode:04o}",
                "replace": [list(pair) for pair in write.replace],
            }
            for write in plan.files
        ],
        "commands": [{"argv": list(command.argv), "why": command.why} for command in plan.commands],
        "next_steps": list(plan.next_steps),
    }


def plan_text(plan: InstallPlan) -> str:
    rows = [("WRITE", str(staged_path(plan.root, w.path)), f"{w.mode:04o}", w.source) for w in plan.files]
    width = max(len(row[1]) for row in rows)
    lines = [f"zfstm service install: {plan.platform.value}, root {plan.root}, zfstm at {plan.zfstm_bin}"]
    lines += [f"  {verb}  {path:<{width}}  {mode}  {source}" for verb, path, mode, source in rows]
    lines += [f"  RUN    {' '.join(command.argv)}    # {command.why}" for command in plan.commands]
    lines.append("then:")
    lines += [f"  {step}" for step in plan.next_steps]
    return "\n".join(lines) + "\n"
