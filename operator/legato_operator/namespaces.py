"""A LegatoNamespace: registered and kept up to date through the frontend's gRPC API.

The operator talks to the cluster's frontend Service (its ClusterIP, so the
same code works in a pod and from a developer's machine) with the raw
``WorkflowService`` stubs: Describe, then Register when not found, or Update
when description, owner or retention differ. Every failure becomes a
condition with a message; the timer tries again.

Deletion never waits for a healthy cluster. With ``deletionPolicy: Retain``
(the default) nothing is called. With ``Delete``, one short ``DeleteNamespace``
call (``RPC_TIMEOUT_S``): the server marks the namespace DELETED at once and
removes its workflows, schedules and task queues, then the namespace, in the
background, so the call itself is quick. An unreachable frontend, a missing
cluster or "not found" all count as done, with the reason logged: the
resource goes either way.

A namespace being deleted on the server (state DELETED) cannot be registered
again until the server is done; a LegatoNamespace of that name shows
``Ready=False/NamespaceBeingDeleted`` meanwhile and is registered by a later
pass of the timer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import duration_pb2

from legato.api.v1 import enums_pb2, workflow_service_pb2, workflow_service_pb2_grpc
from legato_operator import render
from legato_operator.conditions import READY, Condition, merge
from legato_operator.kube import Kube

RPC_TIMEOUT_S = 5.0
MIN_RETENTION_S = 3600


class NamespaceProblem(Exception):
    """Something the user (or the cluster) must fix; the message says what."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Wanted:
    name: str
    description: str
    owner_email: str
    retention_s: int
    data: dict[str, str]


def parse_retention(text: str) -> int:
    """``72h``, ``90m``, ``1h30m``, ``3600s`` -> seconds; ValueError for anything else."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text or "")
    if not text or match is None:
        raise ValueError(f"retention {text!r}: expected hours/minutes/seconds such as 72h or 90m")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def wanted(body: dict[str, Any]) -> Wanted:
    spec = body["spec"]
    try:
        retention = parse_retention(spec.get("retention", "72h"))
    except ValueError as error:
        raise NamespaceProblem("InvalidRetention", str(error)) from None
    if retention < MIN_RETENTION_S:
        raise NamespaceProblem(
            "InvalidRetention", f"retention {spec['retention']} is below the minimum of 1h"
        )
    return Wanted(
        name=spec.get("name") or body["metadata"]["name"],
        description=spec.get("description", ""),
        owner_email=spec.get("ownerEmail", ""),
        retention_s=retention,
        data=dict(spec.get("data") or {}),
    )


def frontend_target(kube: Kube, namespace: str, cluster: str) -> str:
    if kube.get_custom("legatoclusters", namespace, cluster) is None:
        raise NamespaceProblem(
            "ClusterNotFound", f"LegatoCluster {cluster} not found in namespace {namespace}"
        )
    service = kube.get("Service", namespace, render.frontend_service_name(cluster))
    if service is None or not service["spec"].get("clusterIP"):
        raise NamespaceProblem("FrontendNotFound", f"LegatoCluster {cluster} has no frontend Service yet")
    return f"{service['spec']['clusterIP']}:{render.GRPC_PORT}"


def _describe(stub: Any, name: str) -> Any | None:
    try:
        return stub.DescribeNamespace(
            workflow_service_pb2.DescribeNamespaceRequest(namespace=name), timeout=RPC_TIMEOUT_S
        )
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise


def register_or_update(target: str, want: Wanted) -> tuple[str, str]:
    """Make the namespace match ``want``; returns (namespace id, what was done)."""
    retention = duration_pb2.Duration(seconds=want.retention_s)
    with grpc.insecure_channel(target) as channel:
        stub = workflow_service_pb2_grpc.WorkflowServiceStub(channel)
        try:
            current = _describe(stub, want.name)
            if current is not None and current.namespace_info.state == enums_pb2.NAMESPACE_STATE_DELETED:
                raise NamespaceProblem(
                    "NamespaceBeingDeleted",
                    f"namespace {want.name} is being deleted on the server; it is registered again "
                    "once the server has removed it",
                )
            if current is None:
                stub.RegisterNamespace(
                    workflow_service_pb2.RegisterNamespaceRequest(
                        namespace=want.name,
                        description=want.description,
                        owner_email=want.owner_email,
                        workflow_execution_retention_period=retention,
                        data=want.data,
                    ),
                    timeout=RPC_TIMEOUT_S,
                )
                action = "registered"
            else:
                info, config = current.namespace_info, current.config
                same = (
                    info.description == want.description
                    and info.owner_email == want.owner_email
                    and config.workflow_execution_retention_ttl.seconds == want.retention_s
                    and all(info.data.get(k) == v for k, v in want.data.items())
                )
                action = "unchanged"
                if not same:
                    stub.UpdateNamespace(
                        workflow_service_pb2.UpdateNamespaceRequest(
                            namespace=want.name,
                            description=want.description,
                            owner_email=want.owner_email,
                            workflow_execution_retention_period=retention,
                            data=want.data,
                        ),
                        timeout=RPC_TIMEOUT_S,
                    )
                    action = "updated"
            described = _describe(stub, want.name)
        except grpc.RpcError as error:
            raise NamespaceProblem(
                "FrontendUnavailable"
                if error.code() == grpc.StatusCode.UNAVAILABLE
                else "RegistrationFailed",
                f"frontend {target}: {error.code().name}: {error.details()}",
            ) from None
    return (described.namespace_info.id if described is not None else ""), action


def reconcile(kube: Kube, body: dict[str, Any]) -> dict[str, Any]:
    """Register or update the namespace; returns the new status."""
    meta = body["metadata"]
    generation = int(meta.get("generation", 1))
    previous = body.get("status") or {}
    status: dict[str, Any] = {"observedGeneration": generation}
    try:
        want = wanted(body)
        target = frontend_target(kube, meta["namespace"], body["spec"]["clusterRef"]["name"])
        namespace_id, action = register_or_update(target, want)
        status.update(registeredName=want.name, namespaceId=namespace_id)
        condition = Condition(READY, True, "Registered", f"namespace {want.name} {action} through {target}")
    except NamespaceProblem as problem:
        condition = Condition(READY, False, problem.reason, str(problem))
    status["conditions"] = merge(previous.get("conditions"), [condition], generation=generation)
    return status


def on_delete(kube: Kube, body: dict[str, Any]) -> str:
    """What deletion did; never raises, never waits beyond one short RPC."""
    if body["spec"].get("deletionPolicy", "Retain") != "Delete":
        return "deletionPolicy Retain: the Legato namespace is kept"
    try:
        want = wanted(body)
        target = frontend_target(kube, body["metadata"]["namespace"], body["spec"]["clusterRef"]["name"])
        with grpc.insecure_channel(target) as channel:
            stub = workflow_service_pb2_grpc.WorkflowServiceStub(channel)
            stub.DeleteNamespace(
                workflow_service_pb2.DeleteNamespaceRequest(namespace=want.name), timeout=RPC_TIMEOUT_S
            )
    except NamespaceProblem as problem:
        return f"nothing to delete: {problem}"
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return "the Legato namespace was already gone"
        return (
            f"the frontend did not delete it ({error.code().name}: {error.details()}); "
            "not waiting: the Legato namespace may remain"
        )
    except Exception as error:  # noqa: BLE001 - deletion must never be blocked
        return f"skipped: {error}"
    return (
        f"namespace {want.name} is being deleted by the server "
        "(its workflows, schedules and task queues are removed in the background)"
    )
