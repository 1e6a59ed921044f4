"""The man page zfstm(1), generated from the argparse definitions (roff, ``man`` macros). Pure: a parser in, text out.

Every verb with its description and options, the exit codes (the exception tree of :mod:`zfstm.errors`), the
files and where the example configuration comes from. Shipped in the wheel (``zfstm service print man``) and
installed by ``zfstm service install``.
"""

from __future__ import annotations

import argparse

from zfstm import __version__, errors
from zfstm.cli.completion import HEADER, Command, Option, walk


def _escape(text: str) -> str:
    """Backslashes escaped, and a line that starts with a control character made literal."""
    out = []
    for line in text.replace("\\", "\\e").splitlines():
        out.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(out)


def _flag(text: str) -> str:
    return text.replace("-", "\\-")


def _paragraphs(text: str) -> list[str]:
    """A docstring as roff paragraphs; lines indented or starting with '- ' keep their line breaks."""
    lines: list[str] = []
    for block in text.strip().split("\n\n"):
        if not block.strip():
            continue
        lines.append(".PP")
        raw = block.splitlines()
        if any(line.startswith(("    ", "- ")) for line in raw):
            lines += [".nf", _escape(block.rstrip()), ".fi"]
        else:
            lines.append(_escape(" ".join(line.strip() for line in raw)))
    return lines


def _option(option: Option) -> list[str]:
    flags = ", ".join(f"\\fB{_flag(flag)}\\fR" for flag in option.flags)
    if option.metavar is not None:
        value = "{" + ",".join(option.choices) + "}" if option.choices else option.metavar
        flags += f" \\fI{_escape(value)}\\fR"
    return [".TP", flags, _escape(option.help) or "."]


def _synopsis(command: Command) -> str:
    parts = [f"\\fB{' '.join(command.path)}\\fR"]
    if command.options:
        parts.append("[\\fIoptions\\fR]")
    for positional in command.positionals:
        name = "{" + ",".join(positional.choices) + "}" if positional.choices else positional.name
        parts.append(f"[\\fI{_escape(name)}\\fR ...]" if positional.many else f"\\fI{_escape(name)}\\fR")
    if command.subcommands:
        parts.append("\\fI" + "|".join(name for name, _ in command.subcommands) + "\\fR ...")
    return " ".join(parts)


def man_page(parser: argparse.ArgumentParser) -> str:
    commands = walk(parser)
    top, verbs = commands[0], commands[1:]
    lines = [
        f'.\\" {HEADER}',
        f'.TH ZFSTM 1 "" "zfstm {__version__}" "User Commands"',
        ".SH NAME",
        "zfstm \\- ZFS snapshots, Time Machine retention and CNID\\-safe rollback for Time Machine shares",
        ".SH SYNOPSIS",
        _synopsis(top),
        ".SH DESCRIPTION",
        *_paragraphs(top.description),
        ".PP",
        "Each verb builds a plan first; \\fB\\-\\-dry\\-run\\fR prints it and stops. "
        "\\fB\\-\\-json\\fR output is the stable interface for scripts.",
        ".SH OPTIONS",
    ]
    for option in top.options:
        lines += _option(option)
    lines.append(".SH VERBS")
    for command in verbs:
        lines += [".SS " + '"' + command.name + '"', _synopsis(command)]
        if command.help:
            lines += [".PP", _escape(command.help)]
        if command.description and command.description != command.help:
            lines += _paragraphs(command.description)
        for option in command.options:
            if option.flags != ("-h", "--help"):
                lines += _option(option)
    lines += [
        ".SH EXIT STATUS",
        "Each error class has one exit code; \\fBzfstm check\\fR answers with the monitoring plugins' codes "
        "instead (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). 0 is success, 130 an interruption (SIGINT, SIGTERM, "
        "SIGHUP); \\fBzfstm daemon\\fR exits 0 on SIGTERM and 96 on a configuration error (SMF maintenance).",
        ".PP",
        ".nf",
        _escape((errors.__doc__ or "").split("::", 1)[-1].strip("\n")),
        ".fi",
        ".SH FILES",
        ".TP",
        "\\fI/etc/zfstm/zfstm.toml\\fR, illumos \\fI/opt/zfstm/etc/zfstm.toml\\fR",
        "The configuration (or \\fB\\-\\-config\\fR, or \\fB$ZFSTM_CONFIG\\fR). "
        "\\fBzfstm service print example\\-config\\fR prints an example; \\fBzfstm config check\\fR validates it.",
        ".TP",
        "\\fI/var/lib/zfstm\\fR, illumos \\fI/var/zfstm/state\\fR",
        "Rollback journals and the last look per target (\\fB$ZFSTM_STATE_DIR\\fR).",
        ".TP",
        "\\fI/run/zfstm\\fR, illumos \\fI/var/zfstm/run\\fR",
        "The per\\-target locks (\\fB$ZFSTM_RUN_DIR\\fR).",
        ".SH SEE ALSO",
        "\\fBzfs\\fR(8), \\fBzfs\\-allow\\fR(8), \\fBafp.conf\\fR(5), \\fBsmb.conf\\fR(5), \\fBtmutil\\fR(8)",
        "",
    ]
    return "\n".join(lines)
