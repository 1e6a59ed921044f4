"""``com.apple.TimeMachine.MachineID.plist``: which Mac owns a bundle, and whether Time Machine trusts it.

``VerificationState`` is the one signal Time Machine leaves on the share about the health of the backup: 1 on
healthy bundles, 2 after "Time Machine completed a verification of your backups..." (failed), 0 after a manual
reset. Values Apple may add later are kept, not rejected, so nothing is lost and the verdict is "unknown".
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum

import attrs

from zfstm.timemachine.plist import Unreadable, get_date, get_int, get_str, load_dict

MACHINE_ID_PLIST = "com.apple.TimeMachine.MachineID.plist"
MACHINE_ID_BACKUP = "com.apple.TimeMachine.MachineID.bckup"

HOST_UUID_KEY = "com.apple.backupd.HostUUID"
VERIFICATION_STATE_KEY = "VerificationState"
VERIFICATION_DATE_KEY = "VerificationDate"
RECOVERY_DECLINED_KEY = "RecoveryBackupDeclinedDate"


class VerificationState(IntEnum):
    """Time Machine's verification state. Unknown integers become pseudo-members named ``UNKNOWN_<n>``."""

    RESET = 0
    HEALTHY = 1
    FAILED = 2

    @classmethod
    def _missing_(cls, value: object) -> VerificationState | None:
        if isinstance(value, int) and not isinstance(value, bool):
            member = int.__new__(cls, value)
            member._name_ = f"UNKNOWN_{value}"
            member._value_ = value
            return member
        return None

    @property
    def is_known(self) -> bool:
        """Whether this value is one zfstm knows the meaning of."""
        return self._name_ in type(self).__members__


class Verdict(StrEnum):
    """What zfstm concludes from the verification state; also the value of ``zfstm:tm-verification``."""

    OK = "ok"
    FAILED = "failed"
    UNKNOWN = "unknown"
    #: A volume target: Time Machine's verification lives inside the Mac's filesystem, which zfstm does not read;
    #: quiet writes are the whole evidence (zfstm.volume.detector), and known-good rests on them alone.
    NOT_APPLICABLE = "not-applicable"


@attrs.frozen
class MachineId:
    """The fields zfstm uses from MachineID.plist; ``problems`` lists fields that were present but unusable."""

    host_uuid: str | None
    verification_state: VerificationState | None
    verification_date: datetime | None
    recovery_backup_declined_date: datetime | None
    source: str = MACHINE_ID_PLIST
    problems: tuple[str, ...] = ()

    @property
    def verdict(self) -> Verdict:
        if self.verification_state is VerificationState.HEALTHY:
            return Verdict.OK
        if self.verification_state is VerificationState.FAILED:
            return Verdict.FAILED
        return Verdict.UNKNOWN


def parse_machine_id(data: bytes, *, source: str = MACHINE_ID_PLIST) -> MachineId | Unreadable:
    """Decode MachineID.plist bytes. Missing fields are None; a file that is not a plist dict is Unreadable."""
    fields = load_dict(data, what=source)
    if isinstance(fields, Unreadable):
        return fields
    problems: list[str] = []
    state = get_int(fields, VERIFICATION_STATE_KEY, problems)
    return MachineId(
        host_uuid=get_str(fields, HOST_UUID_KEY, problems),
        verification_state=None if state is None else VerificationState(state),
        verification_date=get_date(fields, VERIFICATION_DATE_KEY, problems),
        recovery_backup_declined_date=get_date(fields, RECOVERY_DECLINED_KEY, problems),
        source=source,
        problems=tuple(problems),
    )


def verdict_of(machine_id: MachineId | Unreadable) -> Verdict:
    """The verdict for one bundle; an unreadable MachineID.plist proves nothing either way."""
    return Verdict.UNKNOWN if isinstance(machine_id, Unreadable) else machine_id.verdict


def combine_verdicts(verdicts: list[Verdict]) -> Verdict:
    """One verdict for a share holding several bundles: any failure fails it, all must be ok for ok."""
    if Verdict.FAILED in verdicts:
        return Verdict.FAILED
    if verdicts and all(verdict is Verdict.OK for verdict in verdicts):
        return Verdict.OK
    return Verdict.UNKNOWN
