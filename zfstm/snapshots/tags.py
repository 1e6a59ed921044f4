"""Every ZFS user property and hold name zfstm writes or reads on a snapshot, in one place (pure constants).

User property names are lowercase letters, digits and ``-_.:`` with at least one ``:`` (ZFS's rule); a hold tag is
any short string. The properties make each snapshot self-describing (``zfs get all pool/tm@snap``); the hold keeps
the known-good snapshot from any destroy, zfstm's own included.
"""

from __future__ import annotations

#: Taken by zfstm (value ``yes``): retention manages it; a rollback may destroy it.
MANAGED = "zfstm:managed"
#: The zfstm version that took the snapshot.
VERSION = "zfstm:version"
#: Why it was taken (completion, interval, manual...).
TRIGGER = "zfstm:trigger"
#: What the detector saw (state and reason) when it was taken.
ACTIVITY = "zfstm:activity"
ACTIVITY_REASON = "zfstm:activity-reason"
#: Time Machine's last completed backup, verification verdict and date when it was taken (the known-good facts).
TM_COMPLETED = "zfstm:tm-completed"
TM_VERIFICATION = "zfstm:tm-verification"
TM_VERIFICATION_DATE = "zfstm:tm-verification-date"
#: Set on the newest snapshot when a due one was skipped as empty: until when (UTC) it stands for the share.
STANDS_UNTIL = "zfstm:stands-until"
#: On the dataset a rollback kept aside: which dataset it was (for ``zfstm rollback --undo``).
ROLLBACK_BEFORE = "zfstm:rollback-before"

#: The hold tag on the known-good snapshot (and its CNID twin).
KNOWN_GOOD_HOLD = "zfstm-known-good"
#: Not a ZFS hold: on a replica (where holds do not arrive and zfstm places none) the snapshot the source's rule
#: picks from the received properties carries this tag in retention's view only, so that pruning keeps it as if held.
REPLICA_KNOWN_GOOD = "zfstm-known-good (replica, by its properties; no hold)"

#: The value of a yes/no property.
YES = "yes"

#: The user properties a snapshot listing reads: everything zfstm writes on a snapshot, so that status, known-good
#: and retention need no second look.
SNAPSHOT_PROPERTIES = (
    MANAGED,
    VERSION,
    TRIGGER,
    ACTIVITY,
    TM_COMPLETED,
    TM_VERIFICATION,
    TM_VERIFICATION_DATE,
    STANDS_UNTIL,
)
