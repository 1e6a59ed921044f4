"""``zfstm rollback``: roll a Time Machine share back to a snapshot, safely, resumably, and keeping CNIDs.

Functional core: :mod:`.model` (facts, steps, plan), :mod:`.planner` (facts -> plan, every refusal up front),
:mod:`.machine` (journal -> next action), :mod:`.render`. Imperative shell: :mod:`.facts` (gathers the facts),
:mod:`.journal` (fsync'ed JSON lines), :mod:`.execute` (one idempotent action per step and its reverse),
:mod:`.runner` (the loop, fault injection); the Berkeley DB work is :mod:`zfstm.netatalk.cnid_counter`.
``zfstm status`` can call :func:`unfinished_rollbacks` to say a rollback is unfinished.
"""

from zfstm.rollback.journal import UnfinishedRollback, unfinished_rollbacks

__all__ = ["UnfinishedRollback", "unfinished_rollbacks"]
