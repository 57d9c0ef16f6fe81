"""History's shards: which ones this host owns, and the one write path into each.

``engine.HistoryEngine`` holds the open shards and the dependencies every
operation uses; ``shard.Shard`` owns fencing, the execution cache and
``update(key, action)``; ``shard_controller.ShardController`` follows the
membership ring. The shard hands committed tasks to its queue processors
(``queues``) and builds runs' state from ``workflow``; it never imports the
operations above it: their task executors are handed to the engine.
"""
