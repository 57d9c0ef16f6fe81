"""A run's state and the rules that change it, with no I/O of their own.

``mutable_state`` (the persisted state of one run and its events), the
builders of history events (``events``), activity and run bookkeeping
(``activity_state``, ``workflow_run``), retry policies and cron schedules.
Everything here works on a ``MutableState`` handed in; reading and writing it
is the shard's job one layer up.
"""
