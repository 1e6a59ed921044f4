"""Netatalk's on-disk state, modelled so that a rollback can keep CNIDs: afp.conf, the CNID database and its files,
the org.netatalk.Metadata EA, and read-only health checks.

Pure modules (values in, values out): ``afpconf``, ``cnid``, ``bdbdump``, ``metadata_ea``, ``check``, and the
classification half of ``appledb``. Shell modules (files and processes): ``cniddb`` (runs the Berkeley DB dump tool),
``scan`` (walks a volume), and the lock probe in ``appledb``.
"""
