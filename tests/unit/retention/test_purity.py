"""The functional core stays pure: planning, naming and rendering never import subprocess or a ZFS backend."""

from __future__ import annotations

import subprocess
import sys


def test_core_imports_no_shell() -> None:
    """Importing the retention core, naming, clock and renderers loads neither subprocess nor zfstm.zfs."""
    code = (
        "import sys\n"
        "import zfstm.retention, zfstm.retention.planner, zfstm.retention.policy_text, zfstm.naming, zfstm.clock\n"
        "import zfstm.retention.render\n"
        "bad = sorted(m for m in sys.modules if m == 'subprocess' or m.startswith('zfstm.zfs'))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
