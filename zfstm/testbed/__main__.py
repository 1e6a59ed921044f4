"""``python -m zfstm.testbed build|run|path``."""

from zfstm.testbed.cli import main

raise SystemExit(main())
