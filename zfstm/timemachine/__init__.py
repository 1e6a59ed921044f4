"""Time Machine awareness: what the Mac left on the share, and what zfstm decides from it.

Pure modules (values in, values out; no I/O, "now" is a parameter):

- ``plist``: decode plist bytes into dicts, or an explicit ``Unreadable`` saying why.
- ``sparsebundle``: ``Info.plist``/``Info.bckup``, band files, bundle discovery in a share.
- ``machineid``: ``com.apple.TimeMachine.MachineID.plist`` (host UUID, verification state and date).
- ``history``: ``com.apple.TimeMachine.SnapshotHistory.plist`` (completion dates).
- ``share``: one bundle's and one share's scan, and the signals derived from them.
- ``detector``: observations -> ``Activity`` (in progress, completed and quiet, idle, unknown) with a reason.
- ``due``: whether a snapshot is due now, or skipped because it would be empty.
- ``properties``: the ZFS user properties written on each snapshot, and reading them back.
- ``knowngood``: which snapshot is known-good, and the hold-before-release plan that moves its hold.

The only shell module is ``reader``: it turns a share directory into a ``ShareScan`` and never writes.
docs/timemachine.md explains the files and the rules.
"""
