"""Search attributes and list queries from the shell, against a real dev server.

``legato namespace update --search-attribute`` registers them, ``legato
workflow start --search-attribute`` sets them, ``workflow list|count --query``
finds runs by them and ``workflow describe`` shows them. Refused input (a
malformed query, an unknown attribute, a value of the wrong type) ends the
command with INVALID_ARGUMENT naming the position or the attribute, and a
refused start writes nothing.

The runs are started without a worker, so they stay running. Visibility is
written after each start by the history's transfer queue, so the test waits
(with a deadline) for counts.
"""

from __future__ import annotations

import json
import time

from tests.cli.harness import Cli, fields, ok, unique

COUNT_DEADLINE = 30.0


def _wait_for_count(cli: Cli, query: str, expected: int) -> None:
    deadline = time.monotonic() + COUNT_DEADLINE
    while (count := int(ok(cli.run("workflow", "count", "--query", query)).strip())) != expected:
        assert time.monotonic() < deadline, f"{query!r} counts {count}, expected {expected}"
        time.sleep(0.1)  # polling the server for a condition, not waiting out a fixed time


def _listed_ids(cli: Cli, query: str) -> list[str]:
    listed = json.loads(ok(cli.run("workflow", "list", "--query", query, "-o", "json")))
    return [run["execution"]["workflowId"] for run in listed]


def test_attributes_registered_set_listed_counted_and_described(cli: Cli) -> None:
    registered = ok(
        cli.run(
            "namespace", "update", "default",
            "--search-attribute", "CustomerId=Keyword", "--search-attribute", "Amount=Double",
        )
    )  # fmt: skip
    assert fields(registered)["Search attribute CustomerId"] == "Keyword"
    assert fields(ok(cli.run("namespace", "describe", "default")))["Search attribute Amount"] == "Double"

    checkout, refund, queue = unique("Checkout"), unique("Refund"), unique("query-queue")
    started = {
        "mine": (checkout, "c-42", 12.5),
        "other-customer": (checkout, "c-7", 30.0),
        "other-type": (refund, "c-42", 1.0),
    }
    ids = {name: unique(name) for name in started}
    for name, (workflow_type, customer, amount) in started.items():
        ok(cli.run(
            "workflow", "start", "--type", workflow_type, "--task-queue", queue, "--id", ids[name],
            "--search-attribute", f'CustomerId="{customer}"', "--search-attribute", f"Amount={amount}",
        ))  # fmt: skip
    _wait_for_count(cli, f"TaskQueue = '{queue}'", 3)

    # The example query, with a StartTime bound every run here is after.
    query = (
        f"WorkflowType = '{checkout}' AND ExecutionStatus = 'Running' "
        "AND StartTime > '2024-01-01T00:00:00Z' AND CustomerId = 'c-42'"
    )
    assert _listed_ids(cli, query) == [ids["mine"]]
    assert ok(cli.run("workflow", "count", "--query", query)).strip() == "1"
    table = ok(cli.run("workflow", "list", "-q", query))
    assert ids["mine"] in table and ids["other-customer"] not in table and ids["other-type"] not in table

    either = f"TaskQueue = '{queue}' AND (CustomerId IN ('c-7') OR Amount BETWEEN 1 AND 2)"
    assert sorted(_listed_ids(cli, either)) == sorted([ids["other-customer"], ids["other-type"]])
    assert _listed_ids(cli, f"WorkflowType = '{checkout}' ORDER BY StartTime ASC") == [
        ids["mine"],
        ids["other-customer"],
    ]
    assert (
        ok(cli.run("workflow", "count", "-q", f"WorkflowType STARTS_WITH '{checkout[:-3]}'")).strip() == "2"
    )

    described = fields(ok(cli.run("workflow", "describe", "--id", ids["mine"])))
    assert described["Search attribute CustomerId"] == '"c-42"'
    assert described["Search attribute Amount"] == "12.5"

    # Batches by a search attribute: signal and cancel reach only the c-42 runs, terminate all three.
    customer = f"TaskQueue = '{queue}' AND CustomerId = 'c-42'"
    signaled = ok(cli.run("workflow", "signal", "-q", customer, "--name", "nudge", "--yes"))
    assert "Signaled 2 of 2" in signaled
    canceled = ok(cli.run("workflow", "cancel", "-q", customer, "--reason", "customer left", "--yes"))
    assert "Cancellation requested for 2 of 2" in canceled
    batched = {"EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED", "EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED"}
    for name, reached in (("mine", True), ("other-type", True), ("other-customer", False)):
        history = json.loads(ok(cli.run("workflow", "show", "--id", ids[name], "-o", "json")))
        types = {event["eventType"] for event in history["events"]}
        assert (types & batched) == (batched if reached else set()), (name, types)
    ended = ok(cli.run("workflow", "terminate", "-q", f"TaskQueue = '{queue}'", "--reason", "done", "--yes"))
    assert "Terminated 3 of 3" in ended


def test_bad_queries_and_attributes_are_refused_naming_what_is_wrong(cli: Cli) -> None:
    ok(cli.run("namespace", "update", "default", "--search-attribute", "Amount=Double"))

    malformed = cli.run("workflow", "list", "--query", "WorkflowType = 'a' AND AND")
    assert malformed.returncode == 1
    assert "INVALID_ARGUMENT" in malformed.stderr
    assert "unexpected 'AND' at position 24; expected an attribute name" in malformed.stderr

    unknown = cli.run("workflow", "count", "--query", "WorkflowType = 'a' OR CustomerID = 'c-42'")
    assert unknown.returncode == 1
    assert "unknown search attribute 'CustomerID' at position 23" in unknown.stderr

    mistyped = cli.run("workflow", "count", "--query", "Amount > 'lots'")
    assert mistyped.returncode == 1
    assert "value 'lots' at position 10 does not fit Amount (Double)" in mistyped.stderr

    queue, workflow_id = unique("query-queue"), unique("refused")
    base = ("workflow", "start", "--type", "Refused", "--task-queue", queue, "--id", workflow_id)
    wrong_type = cli.run(*base, "--search-attribute", 'Amount="lots"')
    assert wrong_type.returncode == 1
    assert "INVALID_ARGUMENT" in wrong_type.stderr and "'Amount' (Double)" in wrong_type.stderr
    unregistered = cli.run(*base, "--search-attribute", 'NeverRegistered15="x"')
    assert unregistered.returncode == 1 and "'NeverRegistered15' is not registered" in unregistered.stderr
    assert ok(cli.run("workflow", "count", "-q", f"WorkflowId = '{workflow_id}'")).strip() == "0"
