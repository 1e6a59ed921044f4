"""The snapshot life-cycle of a Time Machine share: observe, decide, snapshot, mark known-good, prune.

Pure modules (values in, values out; "now" is a parameter; no backend, no files):

- ``model``: what one look at a target found (share scan, snapshots, ``written``, sessions).
- ``decide``: observations -> a :class:`~zfstm.lifecycle.decide.TickPlan`: per target the detector's activity and
  the due decision, the atomic snapshot batches (one per pool, CNID datasets included), the skipped-empty marks,
  and the upkeep (known-good hold moves, retention plans, CNID snapshots pruned in lockstep).
- ``upkeep``: the known-good hold and retention part of a plan, for one target and its CNID dataset.
- ``report``: the plan and its outcome as text and JSON.
- ``status``: what ``zfstm status`` shows, as values and renderers.

Shell modules (thin): ``observe`` (ZFS listing, share reader, session count, the small state file) and ``tick``
(locks, runs a plan on a backend, re-plans upkeep from a fresh listing after snapshotting).
docs/configuration.md describes the cycle for administrators.
"""
