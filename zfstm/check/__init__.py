"""`zfstm check`'s pure verdict (``verdict``): facts and thresholds in, Nagios states out.

The verb itself is ``zfstm.cli.check``."""
