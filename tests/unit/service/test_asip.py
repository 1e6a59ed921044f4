"""Tests for reading asip-status: does the AFP server answer, and as what."""

from __future__ import annotations

import pytest

from zfstm.service.asip import asip_status_argv, judge_asip_status, parse_asip_status
from zfstm.service.command import Completed

# Real output of Debian netatalk-tools 4.2.3 against netatalk 4.2.3 in the testbed (2026-11-28).
SAMPLE = """\
AFP reply from localhost:548 via IPv6
Flags: 1  Cmd: 3  ID: 57005
Reply: DSIGetStatus
Request ID: 57005
Machine type: Netatalk4.2.3
AFP versions: AFP2.2,AFPX03,AFP3.1,AFP3.2,AFP3.3,AFP3.4
UAMs: DHX2,Cleartxt Passwrd
Volume Icon & Mask: Yes
Flags:
    SupportsCopyFile
    SupportsServerMessages
    SupportsServerSignature
    SupportsSrvrNotifications
    SupportsOpenDirectory
    SupportsUTF8Servername
    SupportsUUIDs
    SupportsExtSleep
    SupportsSuperClient
Server name: zfstm-testbed
Signature:
b8 c9 73 92 82 e2 b3 a8 db d5 64 a7 25 aa d1 53  ..s.......d.%..S

Network address: [0000:0000:0000:0000:0000:0000:0000:0000] (IPv6 address)
UTF8 Servername: zfstm-testbed
"""

ARGV = ("asip-status", "localhost")


def test_argv() -> None:
    """The probe runs `asip-status localhost` (optionally with a port)."""
    assert asip_status_argv() == ARGV
    assert asip_status_argv("::1", 10548) == ("asip-status", "::1", "10548")


def test_option_like_host_is_refused() -> None:
    """A host that asip-status would read as an option is refused."""
    with pytest.raises(ValueError, match="option"):
        asip_status_argv("-x")


def test_parse_reads_key_value_lines() -> None:
    """Key: value lines are read; the machine type is there verbatim."""
    fields = parse_asip_status(SAMPLE)
    assert fields["Machine type"] == "Netatalk4.2.3"
    assert fields["Server name"] == "zfstm-testbed"
    assert fields["UAMs"] == "DHX2,Cleartxt Passwrd"


def test_answer_ok_when_machine_type_matches() -> None:
    """Exit 0 and a Netatalk machine type is an answer."""
    answer = judge_asip_status(Completed(ARGV, 0, SAMPLE))
    assert answer.ok
    assert "Netatalk4.2.3" in answer.detail


def test_failure_exit_is_no_answer_and_says_why() -> None:
    """A non-zero exit (server down) is no answer, with asip-status's own message."""
    answer = judge_asip_status(Completed(ARGV, 1, "", "Can't connect to localhost:548: Connection refused\n"))
    assert not answer.ok
    assert "Connection refused" in answer.detail


def test_other_server_is_no_answer() -> None:
    """An AFP server that is not the expected one does not count."""
    answer = judge_asip_status(Completed(ARGV, 0, SAMPLE.replace("Netatalk4.2.3", "Macintosh")))
    assert not answer.ok
