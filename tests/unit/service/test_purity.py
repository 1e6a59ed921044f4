"""The functional core of the service package never starts processes."""

from __future__ import annotations

import subprocess
import sys

PURE = (
    "zfstm.service.asip",
    "zfstm.service.command",
    "zfstm.service.control",
    "zfstm.service.holders",
    "zfstm.service.smf",
    "zfstm.service.smf_exit",
    "zfstm.service.systemd",
)


def test_pure_modules_do_not_import_subprocess() -> None:
    """Importing the argv builders and parsers (and the adapters that take an injected runner) loads no subprocess."""
    code = f"import sys\nfor m in {PURE!r}: __import__(m)\nprint('subprocess' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
