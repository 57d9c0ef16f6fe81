"""History's queue processors: the transfer outbox and the timer wheel of each shard.

They load tasks, run them with retries, and persist ack levels. They see the
shard only through ``queue_common.QueueShard`` and what a task does only
through the executor they are given, so they sit below the shard and know
nothing of workflows.
"""
