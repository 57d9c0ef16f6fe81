"""The JSON log format on real server processes, and the config, env and flag that choose it.

Each line is one JSON object; lines written on a workflow's behalf carry its
namespace, workflow id and run id; a current OpenTelemetry span adds its
trace id.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import uuid

import pytest
import yaml

from legato.testing import WorkflowEnvironment, find_free_port, server_command
from legato.worker import Worker
from legato_server.common import log_context
from legato_server.common.log_format import JsonFormatter
from tests.metrics.workload import MetricsHello, metrics_greet


def _json_lines(output: str) -> list[dict[str, object]]:
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines, "the server wrote no log lines"
    parsed = []
    for line in lines:
        record = json.loads(line)  # fails the test on any line that is not one JSON object
        assert isinstance(record, dict)
        assert {"time", "level", "logger", "message"} <= set(record), record
        parsed.append(record)
    return parsed


async def test_start_dev_json_lines_name_the_workflow_they_are_about() -> None:
    async with WorkflowEnvironment.start_local(
        extra_args=["--log-format", "json", "--log-level", "debug"]
    ) as env:
        task_queue = f"json-logs-{uuid.uuid4().hex[:6]}"
        workflow_id = f"json-logs-{uuid.uuid4().hex[:6]}"
        async with Worker(
            env.client, task_queue=task_queue, workflows=[MetricsHello], activities=[metrics_greet]
        ):
            handle = await env.client.start_workflow(
                MetricsHello.run, "json", id=workflow_id, task_queue=task_queue
            )
            assert await handle.result() == "Hello, json!"
        output = env.server_output()

    records = _json_lines(output)
    about = [r for r in records if r.get("workflow_id") == workflow_id]
    closed = [r for r in about if r["message"] == "run of MetricsHello closed: completed"]
    assert len(closed) == 1, about
    assert closed[0]["run_id"] == handle.result_run_id
    assert closed[0]["namespace"] == "default"
    assert closed[0]["level"] == "DEBUG"
    assert str(closed[0]["time"]).endswith("Z")
    # A line about no workflow carries no workflow fields (a shard or queue loop inherits none).
    loaded = [r for r in records if "loaded; backlog" in str(r["message"])]
    assert loaded and all("workflow_id" not in r for r in loaded), loaded


async def test_with_tracing_on_every_line_of_a_run_carries_the_runs_trace_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Tracing on (the tracing helper's OTEL_* switch); the collector address is closed, so
    # spans are dropped after retries: the log lines are what this test reads.
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{find_free_port()}")
    async with WorkflowEnvironment.start_local(
        extra_args=["--log-format", "json", "--log-level", "debug"]
    ) as env:
        task_queue = f"json-trace-{uuid.uuid4().hex[:6]}"
        workflow_id = f"json-trace-{uuid.uuid4().hex[:6]}"
        async with Worker(
            env.client, task_queue=task_queue, workflows=[MetricsHello], activities=[metrics_greet]
        ):
            handle = await env.client.start_workflow(
                MetricsHello.run, "t", id=workflow_id, task_queue=task_queue
            )
            await handle.result()
        output = env.server_output()

    about = [r for r in _json_lines(output) if r.get("workflow_id") == workflow_id]
    started = [r for r in about if r["message"] == "run of MetricsHello started"]
    closed = [r for r in about if r["message"] == "run of MetricsHello closed: completed"]
    assert len(started) == len(closed) == 1, about
    trace_id = started[0].get("trace_id")
    assert isinstance(trace_id, str) and re.fullmatch("[0-9a-f]{32}", trace_id), started[0]
    # The close happens in a worker's answer, seconds later, in another RPC: same trace.
    assert closed[0]["trace_id"] == trace_id
    assert closed[0]["span_id"] != started[0]["span_id"]


def _run_server(args: list[str], *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the server to its exit (these refuse to start)."""
    return subprocess.run(
        [*server_command(), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_a_bad_log_format_is_refused_with_the_formats_allowed() -> None:
    from_env = _run_server(["start-dev", "--in-memory", "--port", "0"], env={"LEGATO_LOG_FORMAT": "xml"})
    assert from_env.returncode == 1
    assert "LEGATO_LOG_FORMAT='xml': expected one of text, json" in from_env.stderr
    from_flag = _run_server(["start-dev", "--in-memory", "--log-format", "xml"])
    assert from_flag.returncode == 2
    assert "invalid choice: 'xml'" in from_flag.stderr


def test_start_with_log_format_json_in_the_config_file_logs_json(tmp_path: os.PathLike[str]) -> None:
    config = os.path.join(tmp_path, "legato.yaml")
    port = find_free_port()
    with open(config, "w") as out:
        yaml.safe_dump(
            {
                "port": port,
                "num_history_shards": 2,
                "persistence": {"kind": "sqlite", "sqlite": {"path": os.path.join(tmp_path, "l.db")}},
                "metrics": {"port": 0},
                "log": {"format": "json"},
            },
            out,
        )
    process = subprocess.Popen(
        [*server_command(), "start", "--config", config], stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()  # blocks until the server logs; a crash ends the stream
        record = json.loads(first)
        assert record["logger"].startswith("legato_server"), record
        lines = [first]
        while not any("listening on" in line for line in lines):
            line = process.stderr.readline()
            assert line, "".join(lines)
            lines.append(line)
        messages = [json.loads(line)["message"] for line in lines]
        assert any(str(m).startswith("metrics on http://127.0.0.1:") for m in messages), messages
    finally:
        process.terminate()
        process.wait(30)
    rest = process.stderr.read() if process.stderr else ""
    _json_lines("".join(lines) + rest)


def test_the_formatter_adds_the_current_span_trace_id_and_leaves_out_missing_fields() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    record = logging.LogRecord(
        "legato_server.x", logging.WARNING, __file__, 1, 'a "quoted"\nline', None, None
    )
    formatter = JsonFormatter()

    plain = json.loads(formatter.format(record))
    assert plain["message"] == 'a "quoted"\nline'
    assert not {"trace_id", "span_id", "workflow_id", "run_id", "namespace"} & set(plain)

    token = log_context.current.set(
        log_context.WorkflowFields(namespace="default", workflow_id="w", run_id="r")
    )
    try:
        with tracer.start_as_current_span("rpc") as span:
            traced = json.loads(formatter.format(record))
    finally:
        log_context.current.reset(token)
    assert traced["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert traced["span_id"] == format(span.get_span_context().span_id, "016x")
    assert (traced["namespace"], traced["workflow_id"], traced["run_id"]) == ("default", "w", "r")
    assert "namespace_id" not in traced
