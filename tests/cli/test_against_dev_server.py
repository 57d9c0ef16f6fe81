"""The CLI against a real ``legato-server start-dev``: output and the server-side effect.

Each test uses its own workflow type, ids and task queue, so tests share one
server without seeing each other's workflows. Visibility (list, count) may lag
behind a write; those assertions wait for the condition with a deadline.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import pytest
from google.protobuf import json_format

from legato.api.v1 import enums_pb2, history_pb2
from tests.cli.harness import Cli, fields, ok, unique
from tests.cli.manual_worker import ManualWorker

VISIBILITY_DEADLINE = 15.0


def eventually(cli: Cli, args: list[str], condition: Callable[[str], bool]) -> str:
    """Rerun a reading command until its output satisfies ``condition`` (visibility may lag)."""
    deadline = time.monotonic() + VISIBILITY_DEADLINE
    while True:
        output = ok(cli.run(*args))
        if condition(output):
            return output
        if time.monotonic() > deadline:
            pytest.fail(f"`legato {' '.join(args)}` never satisfied the condition; last output:\n{output}")


def start_workflow(
    cli: Cli, *extra: str, workflow_type: str | None = None, task_queue: str | None = None
) -> tuple[str, str, str]:
    """Start a workflow (nobody works on it); returns (workflow id, run id, type)."""
    workflow_type = workflow_type or unique("Type")
    output = ok(
        cli.run(
            "workflow",
            "start",
            "--type",
            workflow_type,
            "--task-queue",
            task_queue or unique("queue"),
            *extra,
        )
    )
    started = fields(output)
    return started["Workflow ID"], started["Run ID"], workflow_type


def history_types(cli: Cli, workflow_id: str) -> list[str]:
    history = history_pb2.History()
    json_format.Parse(ok(cli.run("workflow", "show", "--id", workflow_id, "--output", "json")), history)
    return [enums_pb2.EventType.Name(event.event_type) for event in history.events]


# ---- namespaces ----------------------------------------------------------------


def test_namespace_create_list_describe_update(cli: Cli) -> None:
    name = unique("ns")
    created = cli.run(
        "namespace",
        "create",
        name,
        "--description",
        "CLI test",
        "--owner-email",
        "ops@example.com",
        "--retention",
        "48h",
    )
    assert ok(created).strip() == f"Namespace {name} created."

    listing = ok(cli.run("namespace", "list"))
    assert listing.splitlines()[0].split() == ["NAME", "STATE", "RETENTION", "OWNER", "DESCRIPTION"]
    row = next(line for line in listing.splitlines() if line.startswith(name + " "))
    assert row.split() == [name, "Registered", "2d", "ops@example.com", "CLI", "test"]
    assert any(line.split()[0] == "default" for line in listing.splitlines()[1:])

    described = fields(ok(cli.run("namespace", "describe", name)))
    assert described["Name"] == name
    assert described["Retention"] == "2d"
    assert described["Owner email"] == "ops@example.com"
    assert described["ID"]

    as_json = json.loads(ok(cli.run("namespace", "describe", name, "--output", "json")))
    assert as_json["namespaceInfo"]["name"] == name

    updated = fields(
        ok(cli.run("namespace", "update", name, "--description", "changed", "--retention", "96h"))
    )
    assert updated["Description"] == "changed"
    assert updated["Retention"] == "4d"
    assert updated["Owner email"] == "ops@example.com"  # untouched
    assert fields(ok(cli.run("namespace", "describe", name)))["Description"] == "changed"


def test_creating_a_namespace_twice_is_already_exists(cli: Cli) -> None:
    name = unique("ns")
    ok(cli.run("namespace", "create", name))
    again = cli.run("namespace", "create", name)
    assert again.returncode == 1
    assert again.stderr.startswith("legato: error: ALREADY_EXISTS: ")
    assert name in again.stderr
    assert len(again.stderr.splitlines()) == 1


def test_describing_an_unknown_namespace_is_not_found(cli: Cli) -> None:
    missing = cli.run("namespace", "describe", "no-such-namespace")
    assert missing.returncode == 1
    assert missing.stderr.startswith("legato: error: NOT_FOUND: ")
    assert "no-such-namespace" in missing.stderr
    assert missing.stdout == ""


def test_namespace_delete_asks_first_then_marks_it_deleted_and_refuses_new_work(cli: Cli) -> None:
    name = unique("ns")
    ok(cli.run("namespace", "create", name))
    start_workflow(cli, "--namespace", name)

    unconfirmed = cli.run("namespace", "delete", name)  # stdin is no terminal: --yes is required
    assert unconfirmed.returncode == 1
    assert "pass --yes" in unconfirmed.stderr
    assert fields(ok(cli.run("namespace", "describe", name)))["State"] == "Registered"

    deleted = ok(cli.run("namespace", "delete", name, "--yes"))
    assert f"Namespace {name} is being deleted" in deleted
    assert fields(ok(cli.run("namespace", "describe", name)))["State"] == "Deleted"
    refused = cli.run("-n", name, "workflow", "start", "--type", "T", "--task-queue", "q")
    assert refused.returncode == 1
    assert refused.stderr.startswith("legato: error: FAILED_PRECONDITION: ")
    assert "is being deleted" in refused.stderr
    again = ok(cli.run("namespace", "delete", name, "--yes"))  # idempotent
    assert "is being deleted" in again


@pytest.mark.parametrize(
    ("name", "code"),
    [("default", "FAILED_PRECONDITION"), ("no-such-namespace", "NOT_FOUND")],
    ids=["the-default-namespace", "unknown"],
)
def test_namespace_delete_refusals(cli: Cli, name: str, code: str) -> None:
    refused = cli.run("namespace", "delete", name, "--yes")
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"legato: error: {code}: ")
    assert name in refused.stderr


# ---- starting and inspecting ------------------------------------------------------


def test_start_prints_ids_and_the_server_has_the_run(cli: Cli) -> None:
    workflow_id = unique("order")
    started_id, run_id, workflow_type = start_workflow(
        cli,
        "--id",
        workflow_id,
        "--input",
        '"order-1"',
        "--input",
        "1999",
        "--memo",
        'owner="ana"',
        "--run-timeout",
        "1h",
        "--task-timeout",
        "15s",
    )
    assert started_id == workflow_id
    assert run_id

    described = fields(ok(cli.run("workflow", "describe", "--id", workflow_id)))
    assert described["Workflow ID"] == workflow_id
    assert described["Run ID"] == run_id
    assert described["Type"] == workflow_type
    assert described["Status"] == "Running"
    assert described["Run timeout"] == "1h"
    assert described["Memo owner"] == '"ana"'

    as_json = json.loads(
        ok(cli.run("workflow", "describe", "--id", workflow_id, "--run-id", run_id, "-o", "json"))
    )
    assert as_json["workflowExecutionInfo"]["execution"]["runId"] == run_id


def test_start_generates_an_id_when_none_is_given(cli: Cli) -> None:
    workflow_id, _, _ = start_workflow(cli)
    assert uuid.UUID(workflow_id)


def test_list_and_count_filter_by_type_and_status(cli: Cli) -> None:
    workflow_type = unique("Listed")
    first, _, _ = start_workflow(cli, workflow_type=workflow_type)
    second, _, _ = start_workflow(cli, workflow_type=workflow_type)

    listing = eventually(
        cli, ["workflow", "list", "--type", workflow_type], lambda out: first in out and second in out
    )
    lines = listing.splitlines()
    assert lines[0].split()[:4] == ["WORKFLOW", "ID", "RUN", "ID"]
    assert [line.split()[0] for line in lines[1:]] == [second, first]  # newest first
    assert all(line.split()[2:4] == [workflow_type, "Running"] for line in lines[1:])

    as_json = json.loads(ok(cli.run("workflow", "list", "--type", workflow_type, "--output", "json")))
    assert {item["execution"]["workflowId"] for item in as_json} == {first, second}
    assert ok(cli.run("workflow", "list", "--type", workflow_type, "--limit", "1")).count("\n") == 2

    assert ok(cli.run("workflow", "count", "--type", workflow_type)).strip() == "2"
    assert ok(cli.run("workflow", "count", "--type", workflow_type, "--status", "completed")).strip() == "0"


def test_show_renders_the_history_and_its_json_replays(cli: Cli) -> None:
    workflow_id, _, workflow_type = start_workflow(cli, "--input", '{"sku": "tea", "qty": 2}')
    table = ok(cli.run("workflow", "show", "--id", workflow_id))
    lines = table.splitlines()
    assert lines[0].split() == ["ID", "TIME", "TYPE", "DETAILS"]
    started = lines[1].split(maxsplit=3)
    assert started[0] == "1"
    assert started[1].endswith("Z")
    assert started[2] == "WorkflowExecutionStarted"
    assert f"type={workflow_type}" in started[3]
    assert 'input={"sku": "tea", "qty": 2}' in started[3]
    assert lines[2].split()[2] == "WorkflowTaskScheduled"

    assert history_types(cli, workflow_id)[:2] == [
        "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
        "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
    ]


def test_start_in_an_unknown_namespace_is_not_found(cli: Cli) -> None:
    run = cli.run("-n", "no-such-namespace", "workflow", "start", "--type", "T", "--task-queue", "q")
    assert run.returncode == 1
    assert run.stderr.startswith("legato: error: NOT_FOUND: ")
    assert "no-such-namespace" in run.stderr


def test_starting_a_running_workflow_id_again_is_already_exists(cli: Cli) -> None:
    workflow_id, _, _ = start_workflow(cli)
    again = cli.run("workflow", "start", "--id", workflow_id, "--type", "T", "--task-queue", "q")
    assert again.returncode == 1
    assert again.stderr.startswith("legato: error: ALREADY_EXISTS: ")


def test_workflows_live_in_the_namespace_given(cli: Cli) -> None:
    namespace = unique("ns")
    ok(cli.run("namespace", "create", namespace))
    workflow_id, _, _ = start_workflow(cli, "--namespace", namespace)
    assert (
        fields(ok(cli.run("workflow", "describe", "-n", namespace, "--id", workflow_id)))["Status"]
        == "Running"
    )
    elsewhere = cli.run("workflow", "describe", "--id", workflow_id)
    assert elsewhere.returncode == 1
    assert elsewhere.stderr.startswith("legato: error: NOT_FOUND: ")


# ---- changing a running workflow ----------------------------------------------------


def test_signal_is_recorded_with_its_decoded_input(cli: Cli) -> None:
    workflow_id, _, _ = start_workflow(cli)
    sent = cli.run("workflow", "signal", "--id", workflow_id, "--name", "approve", "--input", '{"by": "ana"}')
    assert ok(sent).strip() == f"Signal approve sent to workflow {workflow_id}."
    table = ok(cli.run("workflow", "show", "--id", workflow_id))
    signaled = next(line for line in table.splitlines() if "WorkflowExecutionSignaled" in line)
    assert 'signal=approve, input={"by": "ana"}' in signaled


def test_signal_to_an_unknown_workflow_is_not_found(cli: Cli) -> None:
    run = cli.run("workflow", "signal", "--id", unique("ghost"), "--name", "approve")
    assert run.returncode == 1
    assert run.stderr.startswith("legato: error: NOT_FOUND: ")


def test_cancel_records_the_request(cli: Cli) -> None:
    workflow_id, _, _ = start_workflow(cli)
    assert ok(cli.run("workflow", "cancel", "--id", workflow_id, "--reason", "not needed")).strip() == (
        f"Cancellation requested for workflow {workflow_id}."
    )
    assert "EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED" in history_types(cli, workflow_id)
    # Only the workflow's code can act on a cancel request; without a worker it keeps running.
    assert fields(ok(cli.run("workflow", "describe", "--id", workflow_id)))["Status"] == "Running"


def test_terminate_closes_the_run(cli: Cli) -> None:
    workflow_id, _, workflow_type = start_workflow(cli)
    assert ok(cli.run("workflow", "terminate", "--id", workflow_id, "--reason", "stuck")).strip() == (
        f"Workflow {workflow_id} terminated."
    )
    described = fields(ok(cli.run("workflow", "describe", "--id", workflow_id)))
    assert described["Status"] == "Terminated"
    assert described["Close time"].endswith("Z")

    last = ok(cli.run("workflow", "show", "--id", workflow_id)).splitlines()[-1]
    assert last.split()[2] == "WorkflowExecutionTerminated"
    assert "reason=stuck" in last

    eventually(
        cli,
        ["workflow", "list", "--type", workflow_type, "--status", "terminated"],
        lambda out: workflow_id in out,
    )

    result = cli.run("workflow", "result", "--id", workflow_id)
    assert result.returncode == 3
    assert result.stderr == "legato: error: workflow terminated: stuck\n"

    again = cli.run("workflow", "terminate", "--id", workflow_id, "--reason", "twice")
    assert again.returncode == 1
    assert again.stderr.startswith("legato: error: ")


# ---- results and queries (a manual worker answers) ----------------------------------------


def test_result_prints_the_completed_result(cli: Cli, dev_server: object) -> None:
    task_queue = unique("queue")
    workflow_id, _, _ = start_workflow(cli, task_queue=task_queue)
    waiting = cli.start("workflow", "result", "--id", workflow_id)
    with ManualWorker(cli.address, namespace="default", task_queue=task_queue) as worker:
        task = worker.poll()
        assert task.workflow_execution.workflow_id == workflow_id
        worker.complete(task, {"charged": 1999, "currency": "EUR"})
    done = Cli.finish(waiting)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"charged": 1999, "currency": "EUR"}

    described = fields(ok(cli.run("workflow", "describe", "--id", workflow_id)))
    assert described["Status"] == "Completed"
    last = ok(cli.run("workflow", "show", "--id", workflow_id)).splitlines()[-1]
    assert last.split()[2] == "WorkflowExecutionCompleted"
    assert 'result={"charged": 1999, "currency": "EUR"}' in last


def test_execute_starts_and_waits(cli: Cli) -> None:
    task_queue = unique("queue")
    workflow_id = unique("execute")
    waiting = cli.start(
        "workflow",
        "execute",
        "--id",
        workflow_id,
        "--type",
        "Greet",
        "--task-queue",
        task_queue,
        "--input",
        '"Ana"',
    )
    with ManualWorker(cli.address, namespace="default", task_queue=task_queue) as worker:
        task = worker.poll()
        assert task.workflow_type.name == "Greet"
        worker.complete(task, "Hello, Ana")
    done = Cli.finish(waiting)
    assert done.returncode == 0, done.stderr
    assert done.stdout == '"Hello, Ana"\n'
    assert workflow_id in done.stderr  # the ids go to stderr, the result alone to stdout


def test_result_of_a_failed_workflow_exits_3_with_the_failure(cli: Cli) -> None:
    task_queue = unique("queue")
    workflow_id, _, _ = start_workflow(cli, task_queue=task_queue)
    with ManualWorker(cli.address, namespace="default", task_queue=task_queue) as worker:
        worker.fail(worker.poll(), "card declined", error_type="CardDeclined")
    done = cli.run("workflow", "result", "--id", workflow_id)
    assert done.returncode == 3
    assert done.stderr == "legato: error: workflow failed: card declined (CardDeclined)\n"
    assert done.stdout == ""


def test_result_gives_up_after_its_timeout(cli: Cli) -> None:
    workflow_id, _, _ = start_workflow(cli)
    started = time.monotonic()
    done = cli.run("workflow", "result", "--id", workflow_id, "--timeout", "1s")
    assert done.returncode == 1
    assert done.stderr == f"legato: error: workflow {workflow_id} did not close within 1s\n"
    assert time.monotonic() - started < 20


def test_query_prints_the_decoded_answer(cli: Cli) -> None:
    task_queue = unique("queue")
    workflow_id, _, _ = start_workflow(cli, task_queue=task_queue)
    with ManualWorker(cli.address, namespace="default", task_queue=task_queue) as worker:
        worker.respond(worker.poll())  # first task: no commands, the workflow stays open
        asking = cli.start(
            "workflow", "query", "--id", workflow_id, "--type", "status", "--input", '"verbose"'
        )
        query_task = worker.poll()
        assert query_task.query.query_type == "status"
        assert json.loads(query_task.query.query_args.payloads[0].data) == "verbose"
        worker.answer_query(query_task, {"state": "waiting", "approved": False})
    done = Cli.finish(asking)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"state": "waiting", "approved": False}
