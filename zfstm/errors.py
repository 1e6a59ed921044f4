"""The one exception tree of zfstm, and the exit code of each branch.

Every error names what it was about (dataset, operation) and says what to do. The command line turns each class
into its exit code; docs/exit-codes.md lists them. Classes also subclass the closest builtin, so library users can
catch ``ValueError`` or ``PermissionError`` as usual::

    ZfstmError                                   1  general failure
    ├── UsageError (ValueError)                  2  bad command-line use
    ├── PartialFailure                           3  some names done, some refused (details in the report)
    ├── SafetyRefusal                            4  refused to act rather than risk data
    │   ├── ClockSkewError                          a snapshot is dated in the future: the clock looks wrong
    │   └── CircuitBreakerError                     one run would destroy too large a share of the snapshots
    ├── BusyError                                5  another zfstm run holds the target's lock
    ├── ConfigError (ValueError)                 6  the configuration file is wrong (file, line, key)
    │   └── AfpConfError                            Netatalk's afp.conf is unreadable or wrong (file, line)
    ├── ZfsError                                 7  ZFS refused an operation (dataset, operation)
    │   ├── InvalidName (ValueError)                a dataset, snapshot or hold name breaks ZFS's rules
    │   ├── DatasetNotFound (LookupError)
    │   ├── SnapshotExists
    │   ├── SnapshotHeld
    │   ├── SnapshotCloned
    │   ├── SnapshotNotLatest
    │   ├── PoolsDiffer
    │   ├── HoldExists / HoldNotFound
    │   ├── DatasetBusy
    │   ├── ZfsPermissionDenied (PermissionError)  8
    │   ├── DuplicateSnapshots (ValueError)         two snapshots of one dataset in one atomic call
    │   └── DatasetExists                           create/clone/rename onto a name that is taken
    ├── EnvironmentMissing (RuntimeError)        9  a tool or library zfstm needs is absent
    │   ├── PyzfsMissing
    │   └── TestbedError
    ├── FileServerError                          10 netatalk/samba could not be stopped, started or verified
    │   ├── CnidDatabaseError                       a CNID database (cnid2.db) cannot be read or is corrupt
    │   │   ├── CnidDatabaseInUse                   cnid_dbd has it open, so the file on disk is not current
    │   │   ├── CnidFormatError (ValueError)        bytes that are no CNID record (zfstm.netatalk.cnid)
    │   │   └── DumpFormatError (ValueError)        text that is no db_dump output (zfstm.netatalk.bdbdump)
    │   └── MetadataEaError (ValueError)            an org.netatalk.Metadata EA has the wrong size or magic
    ├── JournalCorrupt (ValueError)              11 a rollback journal is damaged beyond a cut-short last line
    ├── RollbackFailed                           12 a rollback step failed: reversed, or stopped with its journal open
    ├── DeadlineExceeded (TimeoutError)          1  a time limit given with --timeout ran out
    └── InternalError                            70 a bug: anything else that escaped (EX_SOFTWARE of sysexits.h)
"""

from __future__ import annotations

from typing import ClassVar


class ZfstmError(Exception):
    """Base of everything zfstm raises on purpose."""

    exit_code: ClassVar[int] = 1


class UsageError(ZfstmError, ValueError):
    exit_code = 2


class PartialFailure(ZfstmError):
    exit_code = 3


class SafetyRefusal(ZfstmError):
    exit_code = 4


class ClockSkewError(SafetyRefusal):
    pass


class CircuitBreakerError(SafetyRefusal):
    pass


class BusyError(ZfstmError):
    exit_code = 5


class ConfigError(ZfstmError, ValueError):
    exit_code = 6


class AfpConfError(ConfigError):
    """afp.conf cannot be read or parsed; the message names the file and line."""


class ZfsError(ZfstmError):
    """ZFS refused something. ``dataset`` and ``operation`` say what; the message says what to do."""

    exit_code = 7

    def __init__(self, message: str, *, dataset: str = "", operation: str = "") -> None:
        self.dataset = dataset
        self.operation = operation
        prefix = f"{operation} {dataset}: " if operation and dataset else (f"{dataset}: " if dataset else "")
        super().__init__(prefix + message)


class InvalidName(ZfsError, ValueError):
    pass


class DatasetNotFound(ZfsError, LookupError):
    pass


class SnapshotExists(ZfsError):
    pass


class SnapshotHeld(ZfsError):
    pass


class SnapshotCloned(ZfsError):
    pass


class SnapshotNotLatest(ZfsError):
    pass


class PoolsDiffer(ZfsError):
    pass


class HoldExists(ZfsError):
    pass


class HoldNotFound(ZfsError):
    pass


class DatasetBusy(ZfsError):
    pass


class ZfsPermissionDenied(ZfsError, PermissionError):
    exit_code = 8


class DuplicateSnapshots(ZfsError, ValueError):
    """One atomic snapshot call named two snapshots of the same dataset (ZFS allows one per dataset)."""


class DatasetExists(ZfsError):
    """create, clone or rename onto a dataset name that already exists."""


class EnvironmentMissing(ZfstmError, RuntimeError):
    exit_code = 9


class PyzfsMissing(EnvironmentMissing):
    pass


class TestbedError(EnvironmentMissing):
    __test__ = False  # not a pytest test class despite the name


class FileServerError(ZfstmError):
    exit_code = 10


class CnidDatabaseError(FileServerError):
    """A CNID database cannot be read (missing tool, truncated or corrupt cnid2.db). Nothing was changed."""


class MetadataEaError(FileServerError, ValueError):
    """An org.netatalk.Metadata EA is not the 402-byte AppleDouble header netatalk writes. Nothing was changed."""


class CnidDatabaseInUse(CnidDatabaseError):
    """cnid_dbd has the database open: cnid2.db lags behind its log until cnid_dbd stops; reading it would mislead."""


class DeadlineExceeded(ZfstmError, TimeoutError):
    """The time limit of ``--timeout`` ran out; `zfstm check` reports it as UNKNOWN."""


class JournalCorrupt(ZfstmError, ValueError):
    """A rollback journal has a damaged line other than a cut-short last one; the message names file and line."""

    exit_code = 11


class RollbackFailed(ZfstmError):
    """A rollback step failed; ``reversed`` says whether everything done so far was undone (if not, the journal stays
    open for ``zfstm rollback --resume``). ``cause`` is the step's own error."""

    exit_code = 12

    def __init__(self, message: str, *, reversed_: bool, cause: BaseException) -> None:
        super().__init__(message)
        self.reversed = reversed_
        self.cause = cause


class InternalError(ZfstmError):
    """An exception zfstm did not expect (a bug): one line for the user, the traceback only under ``-v``."""

    exit_code = 70


#: Exit codes that are not an exception class.
EXIT_OK = 0
EXIT_INTERRUPTED = 130
