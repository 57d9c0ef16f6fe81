"""History's operations: one module per thing a run can be asked to do.

Each RPC of the history service (start, signal, cancel, terminate, describe,
query, history reads, workflow and activity task calls, child completion) is a
plain function ``(engine, request) -> response`` here; ``handler.py`` maps RPCs
onto them. The executors of transfer and timer tasks live here too: firing a
timer or dispatching a task is an operation on a run like any other, and the
service hands them to the engine, which runs them without importing upward.

Operations sit on top of the history role: they use the shards (``shards``) to
read and write runs and the workflow state rules (``workflow``), and nothing
below imports them.
"""
