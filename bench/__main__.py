"""Benchmark Legato: python -m bench [options]

Runs the workloads of docs/benchmark.md against a Legato server, with
the worker and the client in this process (one asyncio loop, uvloop when
installed), and prints one JSON line per workload on stdout, progress and a
summary table on stderr.

Workloads (default sizes: N workflows, at most C in flight):
  hello   N=500 C=50  one activity returning "Hello, {name}!"
  local   N=500 C=50  hello with a local activity (a marker, no activity task)
  chain   N=100 C=50  10 activities one after another
  signal  N=500 C=50  waits for a signal; client starts, signals, waits for the result
  timer   N=500 C=50  sleeps 1 s; latency columns are the timer's LATENESS
                      (completion - start - 1 s), "latency_kind": "timer_lateness"
  fanout  N=20  C=20  100 activities at once, gathered

Server: without --address the harness starts `legato-server start-dev` itself
on a free port with a temporary SQLite file (or --db-file PATH, --in-memory),
waits for grpc.health.v1 SERVING, and measures that process: CPU seconds
(user+sys, /proc/<pid>/stat) over each workload divided by n, and peak RSS
(VmRSS sampled every 100 ms). Its pid and log path are printed on stderr, e.g.
for `py-spy top --pid PID`. With --address HOST:PORT nothing is started and
the server figures are null. Set LEGATO_BENCH_KEEP=1 to keep the temp dir
(and, with --store mysql|cassandra, the database, which is otherwise dropped).

Production stores: --store mysql|cassandra starts `legato-server start` with
every role in one process on a fresh database (made with the schema tool) of
the MariaDB/Cassandra that scripts/infra/*.sh run; add --cluster
frontend=1,history=2,matching=1 to run each role instance as its own process
(server CPU and RSS are then summed over all of them).

Each workload gets a warm-up of a few workflows first (not counted). Latency
is per workflow, from the start call to the result returned; percentiles
cover successful workflows. The exit code is 0 when every workflow (warm-up
included) succeeded with the right result, 1 when some failed (summary on
stderr and "error_summary" in the JSON), 3 when the server could not start
or died.

JSON keys: workload n conc wall_s wf_per_s latency_kind p50_ms p90_ms p99_ms
min_ms mean_ms max_ms completed errors server_cpu_s_per_wf server_cpu_s
server_peak_rss_mb server_hwm_rss_mb client_cpu_s_per_wf warmup warmup_errors
[activities_per_s] [error_summary] commit dirty store address loop python, and
the worker's counters over the workload: workflow_tasks_per_wf, full_replays
(runs rebuilt from their whole history: one per workflow is the floor; more
means sticky tasks were lost), workflow_task_failures and eager_activities
(activity tasks handed back with a workflow task's completion),
backlogged_workflow_tasks (polled while their queue had a stored backlog: the
slow path); with --db-pid, db_cpu_s_per_wf (the database's CPU per workflow).

Examples:
  python -m bench                                   # all five, default sizes
  python -m bench --workload hello --conc 1 --n 100 # the latency floor
  python -m bench --workload hello chain --in-memory
  python -m bench --address 127.0.0.1:7233          # an already running server
  python -m bench --server-arg=--log-level=debug    # extra start-dev arguments
  python -m bench --workload hello chain --store mysql
  python -m bench --workload hello --store mysql --cluster frontend=1,history=2,matching=1
"""

from bench.cli import main

if __name__ == "__main__":
    raise SystemExit(main(description=__doc__))
