"""A QEMU VM with real OpenZFS 2.3 and Netatalk 4.2, for machines whose kernel cannot load ZFS."""
