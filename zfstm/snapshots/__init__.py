"""The one snapshot model: how every verb reads and classifies a dataset's snapshots.

- :mod:`.tags` owns every ``zfstm:*`` user property and hold name zfstm writes or reads;
- :mod:`.model` (pure) classifies each listed snapshot once: managed (taken by zfstm or adopted by name) or
  foreign, its time, holds, the ``zfstm:*`` properties (known-good facts, ``stands-until``), used bytes;
- :mod:`.reader` (shell) lists a set of datasets through a ZFS backend into :class:`~.model.DatasetState` values.

Nothing is imported here, so that :mod:`.tags` stays importable from anywhere without a cycle.
"""
