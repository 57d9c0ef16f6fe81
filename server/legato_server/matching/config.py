"""Tunables of the matching role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass
class MatchingConfig:
    poll_timeout: timedelta = timedelta(seconds=60)
    """Longest a poll waits for a task before returning an empty response."""
    poll_deadline_margin: timedelta = timedelta(seconds=1)
    """A poll returns this long before its caller's gRPC deadline, so the empty
    response arrives instead of DEADLINE_EXCEEDED."""
    sticky_poller_recency: timedelta = timedelta(seconds=10)
    """AddWorkflowTask on a sticky queue nobody polled within this long is
    rejected (FAILED_PRECONDITION) so history reschedules on the normal queue."""
    reject_unpolled_sticky: bool = True
    """Whether that rejection is on; off = such tasks wait in the sticky backlog
    until history's schedule-to-start timer moves them."""
    default_query_timeout: timedelta = timedelta(seconds=10)
    """How long a query waits for a worker when the call carries no deadline."""
    sync_match_wait: timedelta = timedelta(milliseconds=200)
    """How long a new task waits in memory for a poller, when none waits and the
    queue has no backlog, before it is written to the backlog. Under load the
    worker's next poll is usually milliseconds away, and a hand-off in memory
    saves a backlog write, its read and its delete. The task stays safe meanwhile:
    the add has not returned, so history still holds it and adds it again if this
    host dies. 0 writes at once."""
    backlog_prefetch: int = 16
    """Backlog tasks read ahead into memory per queue, ready for the next pollers."""
    backlog_read_batch: int = 100
    """Tasks read from the store per backlog read."""
    forwarded_polls_per_partition: int = 1
    """Polls a child partition forwards to its root at once. The root sees every
    partition's tasks that find no local poller, so one forwarded poll per
    partition keeps a lightly used queue from starving a poller, while under load
    pollers match on their own partition and the root does not become a hot spot."""
