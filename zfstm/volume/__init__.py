"""Volume targets: a zvol given to one Mac as an iSCSI LUN (LIO via targetcli on Linux, COMSTAR on illumos), or
served by nbd-server (Linux).

The life-cycle, retention, known-good and rollback are the shares' own; this package adds only what differs for a
block device: the export's model and commands, the quiet-writes detector, the provisioning plan and the restore LUN.
"""
