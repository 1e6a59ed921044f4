"""zfstm: ZFS snapshots, retention and safe rollback for Apple Time Machine shares."""

__version__ = "0.1.0"
