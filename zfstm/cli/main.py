"""Entry point of ``zfstm``: parse argv, run one verb, turn exceptions and signals into documented exit codes.

Each verb lives in its own module ``zfstm.cli.<verb>`` with ``register(subparsers)``, which adds its parser and
sets ``handler`` (a function from the parsed arguments to an exit code). ``--dry-run`` never reaches mutating code:
verbs build a plan, print it, and stop. No traceback reaches a user: an exception zfstm did not expect becomes one
line and exit 70 (:class:`InternalError`), with the traceback only under ``-v``. `zfstm check` answers 3 (UNKNOWN)
for a bad flag, as Nagios plugins do.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from zfstm import __version__
from zfstm.errors import EXIT_INTERRUPTED, InternalError, ZfstmError
from zfstm.logsetup import add_logging_arguments, setup_logging

#: Verb modules, in the order `zfstm --help` lists them.
VERBS: tuple[str, ...] = (
    "cnid",
    "plan",
    "prune",
    "config",
    "snapshot",
    "run",
    "daemon",
    "status",
    "rollback",
    "provision",
    "check",
    "service",
    "notify",
    "volume",
)

log = logging.getLogger("zfstm")


class TerminatedError(Exception):
    """SIGTERM or SIGHUP arrived (SMF and systemd stop services with SIGTERM)."""


def build_parser(verbs: Sequence[str] = VERBS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zfstm", description="ZFS snapshots and safe rollback for Time Machine shares."
    )
    parser.add_argument("--version", action="version", version=f"zfstm {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr")
    add_logging_arguments(parser)
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb in verbs:
        module = importlib.import_module(f"zfstm.cli.{verb}")
        module.register(sub)
    return parser


def verbs_to_load(argv: Sequence[str]) -> tuple[str, ...]:
    """Only the verb named on the command line (all of them for the global help or without a verb).

    Importing every verb means importing all of zfstm: ~0.5 s of CPU on a server, 10-20 s in the emulated testbed,
    paid by every `zfstm` process (a rollback, each tick of the timer).
    """
    for index, arg in enumerate(argv):
        if arg in VERBS:
            return VERBS if {"-h", "--help"} & set(argv[:index]) else (arg,)
    return VERBS


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise TerminatedError(signal.Signals(signum).name)


def syslog_flag_form(argv: Sequence[str]) -> list[str]:
    """``--syslog`` followed by a word that is no address (a verb, a flag) means ``--syslog=auto``.

    The address is optional, so argparse would otherwise take ``zfstm --syslog status``'s verb as the address.
    Addresses are ``auto``, a socket path (with a ``/``) or ``udp:HOST:PORT``; ``--syslog=ADDRESS`` always works."""
    out = list(argv)
    for index, arg in enumerate(out):
        if arg == "--":
            break
        if arg == "--syslog":
            following = out[index + 1] if index + 1 < len(out) else ""
            if not (following == "auto" or "/" in following or following.startswith("udp:")):
                out[index] = "--syslog=auto"
    return out


def _parse(parser: argparse.ArgumentParser, arguments: list[str]) -> argparse.Namespace:
    """argparse exits 2 on a bad flag; `zfstm check` must answer 3 (UNKNOWN) instead, with a Nagios line."""
    verb = next((arg for arg in arguments if arg in VERBS), None)
    try:
        return parser.parse_args(arguments)
    except SystemExit as exc:
        if verb == "check" and exc.code not in (0, None):
            print("ZFSTM UNKNOWN - bad command line (see zfstm check --help)")
            raise SystemExit(3) from None
        raise


def _answer(verb: str, message: str, code: int) -> int:
    """One line for the user; `zfstm check` answers Nagios' UNKNOWN (3) on stdout instead of zfstm's codes."""
    if verb == "check":
        print(f"ZFSTM UNKNOWN - {message}")
        return 3
    print(f"zfstm {verb}: {message}" if verb else f"zfstm: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    arguments = syslog_flag_form(sys.argv[1:] if argv is None else argv)
    try:
        args = _parse(build_parser(verbs_to_load(arguments)), arguments)
    except Exception as exc:  # a bug in a parser or a help text: still one line, not a traceback
        verb = next((arg for arg in arguments if arg in VERBS), "")
        return _internal(verb, exc, verbose=sum(arg in ("-v", "--verbose") for arg in arguments))
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    """The verb's handler, with logging set up and every exception turned into its documented exit code."""
    verbose = int(getattr(args, "verbose", 0) or 0)
    try:
        setup_logging(verbose, args.syslog)
    except ZfstmError as exc:
        return _answer(args.verb, str(exc), exc.exit_code)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    try:
        code: int = args.handler(args)
    except ZfstmError as exc:
        return _answer(args.verb, str(exc), exc.exit_code)
    except (KeyboardInterrupt, TerminatedError) as exc:
        print(f"zfstm {args.verb}: stopped ({exc or 'interrupted'})", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: one line and its own exit code; the traceback only under -v
        return _internal(args.verb, exc, verbose=verbose)
    return code


def _internal(verb: str, exc: Exception, *, verbose: int) -> int:
    """An exception zfstm did not expect: one line and exit 70; the traceback only under -v."""
    if verbose:
        log.exception("zfstm %s: internal error", verb)
    hint = "" if verbose else " (run with -v for the traceback)"
    return _answer(verb, f"internal error {type(exc).__name__}: {exc}{hint}", InternalError.exit_code)


if __name__ == "__main__":
    raise SystemExit(main())
