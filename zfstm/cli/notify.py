"""`zfstm notify --source samba --path PATH [--config FILE]`: tell `zfstm daemon` that a session on PATH ended.

For Samba's ``root postexec`` (smb.conf, per Time Machine share):
``root postexec = /usr/local/bin/zfstm notify --source samba --path "%P"``. Sends one datagram to the loopback
listener of ``[events] fce_listener`` and returns at once; the daemon decides whether the backup is over
(docs/events.md). Never fails the disconnect: problems go to stderr and the exit code is still 0 unless the
configuration cannot be read.
"""

from __future__ import annotations

import argparse
import socket
import sys

from zfstm.cli.config import add_config_argument, load_from_args
from zfstm.events.model import EventSource
from zfstm.events.notice import HOOK_SOURCES, Notice, build_notice


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "notify",
        help="report a file-server session end to the daemon (Samba's root postexec)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_argument(parser)
    parser.add_argument("--source", choices=[s.value for s in HOOK_SOURCES], default=EventSource.SAMBA.value)
    parser.add_argument("--path", required=True, help="the share's path (Samba: %%P)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load_from_args(args)
    listener = config.events.fce_listener
    if listener is None:
        print("zfstm notify: no [events] fce_listener in the configuration: nothing listens", file=sys.stderr)
        return 0
    host, port = listener
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    data = build_notice(Notice(EventSource(args.source), args.path))
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.sendto(data, (host, port))
    except OSError as exc:
        print(f"zfstm notify: cannot send to {host}:{port}: {exc}", file=sys.stderr)
    return 0
