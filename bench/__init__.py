"""Legato's benchmark harness: ``python -m bench`` (see ``bench/__main__.py``).

Layout, lowest layer first; only ``workloads`` and ``runner`` know the SDK, so
adapting to an SDK change is one place:

* ``specs``     — the workloads' names, default sizes and what their latency means;
* ``stats``     — percentiles (no numpy) and the latency summary;
* ``procstat``  — CPU seconds and RSS of a process tree from ``/proc``;
* ``loadgen``   — the closed-loop load generator (N operations, at most C in flight);
* ``server``    — starting ``legato-server start-dev`` and waiting until it serves;
* ``report``    — one JSON line per workload and the human table;
* ``workloads`` — the workflows, activities and per-workflow client drivers (SDK);
* ``runner``    — client + worker in this process, warm-up, measurement (SDK);
* ``cli``       — argument parsing and the top-level orchestration.
"""
