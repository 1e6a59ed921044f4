"""zfstm as a package installs it: copied into the testbed VM's site-packages and byte-compiled (benchmarks only)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path


@functools.cache
def install_zfstm() -> dict[str, str]:
    """Install zfstm into the VM's site-packages, byte-compiled, and return the environment that runs it from there.

    Why: the checkout is mounted read-only over 9p at /src and is first on PYTHONPATH, so run from there every
    import (also of the standard library) probes 9p first and every zfstm module is compiled again in each
    process: 4-5 s per ``zfstm`` command in the emulated VM that an installed package (compiled at install
    time, on a local disk, after the standard library on sys.path) never pays."""
    import site

    import zfstm as package

    target = Path(site.getsitepackages()[0]) / "zfstm"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(Path(package.__file__).parent, target, ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONPYCACHEPREFIX"}}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(target)], env=env, check=True)
    return env
