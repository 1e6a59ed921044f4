"""Running zfstm as a service, and controlling the file server in front of a share.

Control adapters share one small interface, :class:`~zfstm.service.control.FileServerControl` (``name``,
``stop()``, ``start()``, ``is_running()``):

- :mod:`.smf` — ``svcadm disable -s`` / ``enable -s`` and ``svcs -H -o state`` (illumos, SmartOS);
- :mod:`.systemd` — ``systemctl stop`` / ``start`` / ``is-active`` (Linux);
- :mod:`.pidfile` — start an argv, SIGTERM the pid in a pidfile (hosts without an init system, the testbed).

:class:`~zfstm.service.verified.VerifiedFileServer` wraps any of them so that ``stop()`` returns only when no
file-server process still holds the share or its CNID database (:mod:`.holders`), and ``start()`` returns only when
the server answers (:mod:`.asip`). Pure parts (argv builders, output parsers) sit beside the adapters; the only
module that runs commands is :mod:`zfstm.runner` (zfstm's one process runner), so tests inject a fake runner and
assert exact command lines.

:mod:`.smf_exit` is the exit-code contract between the SMF manifest (smf/zfstm.xml) and ``zfstm daemon``.
"""
