"""Schedules: durable server-side objects that start workflows on a calendar, interval or cron string.

Design (why not a workflow per schedule, as Temporal does): Legato's server
runs no SDK worker of its own, and a schedule is a small record with one
writer at a time. So a schedule is a row in ``ScheduleStore`` keyed by
(namespace, schedule id), placed on the history shard of its id, and the
history host that owns that shard runs it (``loop.SchedulerLoop``): it reads
the rows of its shards whose ``next_wakeup_ms`` has passed, decides
(``processor``), starts workflows through the history client, and writes the
row back conditionally on its conflict token.

Exactly once: an action's workflow id is "<prefix>-<nominal time>" and its
request id is derived from (namespace, schedule id, nominal time). The row is
written only after the start; a crash in between makes the next owner start
the same id with the same request id, which history answers with the run the
first attempt created. A write that loses a race (another host, or a user's
update) is retried from a fresh read, and the repeated start is again a no-op.

Modules: ``calendar`` and ``cron`` (fields, pure), ``spec`` (next times,
jitter, validation; pure), ``state`` (the record blob, ids), ``processor``
(one schedule, one pass), ``operations`` (create/describe/update/patch/list/
delete for the frontend), ``loop`` (the background loop of a history host).
"""
