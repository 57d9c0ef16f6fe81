"""Namespace registration, description, listing and updates over the public API."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import duration_pb2

from legato.api.v1 import enums_pb2
from legato.api.v1 import workflow_service_pb2 as ws

HOUR = 3600
DAY = 24 * HOUR


async def call_error(call, request) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request, timeout=5)
    return caught.value


@pytest.fixture
def stub(server_address_and_stub):  # type: ignore[no-untyped-def]
    return server_address_and_stub[1]


async def test_register_then_describe_by_name_and_by_id(stub) -> None:  # type: ignore[no-untyped-def]
    await stub.RegisterNamespace(
        ws.RegisterNamespaceRequest(
            namespace="payments.prod-1_a",
            description="money",
            owner_email="ops@example.com",
            data={"team": "pay"},
        ),
        timeout=5,
    )
    by_name = await stub.DescribeNamespace(
        ws.DescribeNamespaceRequest(namespace="payments.prod-1_a"), timeout=5
    )
    info = by_name.namespace_info
    assert (info.name, info.description, info.owner_email, dict(info.data)) == (
        "payments.prod-1_a",
        "money",
        "ops@example.com",
        {"team": "pay"},
    )
    assert info.state == enums_pb2.NAMESPACE_STATE_REGISTERED
    assert by_name.config.workflow_execution_retention_ttl.seconds == 3 * DAY  # the default
    by_id = await stub.DescribeNamespace(ws.DescribeNamespaceRequest(id=info.id), timeout=5)
    assert by_id == by_name


async def test_describe_unknown_namespace_is_not_found(stub) -> None:  # type: ignore[no-untyped-def]
    err = await call_error(stub.DescribeNamespace, ws.DescribeNamespaceRequest(namespace="nope"))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert err.details() == 'namespace "nope" not found'
    err = await call_error(stub.DescribeNamespace, ws.DescribeNamespaceRequest())
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        pytest.param("", "namespace is required", id="empty"),
        pytest.param("x" * 256, "256 chars long; the limit is 255", id="too-long"),
        pytest.param("has space", "not allowed", id="space"),
        pytest.param("slash/name", "not allowed", id="slash"),
        pytest.param("ünicode", "not allowed", id="non-ascii"),
    ],
)
async def test_bad_namespace_names_are_rejected(stub, name: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    err = await call_error(stub.RegisterNamespace, ws.RegisterNamespaceRequest(namespace=name))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert needle in err.details()
    listed = await stub.ListNamespaces(ws.ListNamespacesRequest(), timeout=5)
    assert [n.namespace_info.name for n in listed.namespaces] == ["default"]


async def test_duplicate_name_is_already_exists_and_keeps_the_original(stub) -> None:  # type: ignore[no-untyped-def]
    await stub.RegisterNamespace(ws.RegisterNamespaceRequest(namespace="dup", description="first"), timeout=5)
    err = await call_error(
        stub.RegisterNamespace, ws.RegisterNamespaceRequest(namespace="dup", description="second")
    )
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    assert err.details() == 'namespace "dup" already exists'
    described = await stub.DescribeNamespace(ws.DescribeNamespaceRequest(namespace="dup"), timeout=5)
    assert described.namespace_info.description == "first"


@pytest.mark.parametrize(
    ("seconds", "needle"),
    [
        pytest.param(HOUR - 1, "the minimum is 1:00:00", id="under-an-hour"),
        pytest.param(-5, "must not be negative", id="negative"),
        pytest.param(0, "the minimum is 1:00:00", id="zero"),
    ],
)
async def test_short_retention_is_rejected_and_nothing_is_registered(  # type: ignore[no-untyped-def]
    stub, seconds: int, needle: str
) -> None:
    err = await call_error(
        stub.RegisterNamespace,
        ws.RegisterNamespaceRequest(
            namespace="short", workflow_execution_retention_period=duration_pb2.Duration(seconds=seconds)
        ),
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert needle in err.details()
    missing = await call_error(stub.DescribeNamespace, ws.DescribeNamespaceRequest(namespace="short"))
    assert missing.code() == grpc.StatusCode.NOT_FOUND


async def test_list_is_paged_and_ordered_by_name(stub) -> None:  # type: ignore[no-untyped-def]
    for name in ("ns-c", "ns-a", "ns-b"):
        await stub.RegisterNamespace(ws.RegisterNamespaceRequest(namespace=name), timeout=5)
    names: list[str] = []
    token = b""
    while True:
        page = await stub.ListNamespaces(
            ws.ListNamespacesRequest(page_size=2, next_page_token=token), timeout=5
        )
        assert len(page.namespaces) <= 2
        names.extend(n.namespace_info.name for n in page.namespaces)
        token = page.next_page_token
        if not token:
            break
    assert names == ["default", "ns-a", "ns-b", "ns-c"]
    err = await call_error(stub.ListNamespaces, ws.ListNamespacesRequest(page_size=-1))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_update_changes_only_the_given_fields(stub) -> None:  # type: ignore[no-untyped-def]
    await stub.RegisterNamespace(
        ws.RegisterNamespaceRequest(
            namespace="upd", description="before", owner_email="a@x", data={"k1": "v1"}
        ),
        timeout=5,
    )
    updated = await stub.UpdateNamespace(
        ws.UpdateNamespaceRequest(
            namespace="upd",
            description="after",
            workflow_execution_retention_period=duration_pb2.Duration(seconds=7 * DAY),
            data={"k2": "v2"},
        ),
        timeout=5,
    )
    assert updated.namespace_info.description == "after"
    assert updated.namespace_info.owner_email == "a@x"
    assert dict(updated.namespace_info.data) == {"k1": "v1", "k2": "v2"}
    assert updated.config.workflow_execution_retention_ttl.seconds == 7 * DAY
    described = await stub.DescribeNamespace(ws.DescribeNamespaceRequest(namespace="upd"), timeout=5)
    assert described.namespace_info == updated.namespace_info
    assert described.config == updated.config


async def test_rejected_update_changes_nothing(stub) -> None:  # type: ignore[no-untyped-def]
    await stub.RegisterNamespace(ws.RegisterNamespaceRequest(namespace="keep", description="same"), timeout=5)
    before = await stub.DescribeNamespace(ws.DescribeNamespaceRequest(namespace="keep"), timeout=5)
    err = await call_error(
        stub.UpdateNamespace,
        ws.UpdateNamespaceRequest(
            namespace="keep",
            description="changed",
            workflow_execution_retention_period=duration_pb2.Duration(seconds=60),
        ),
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    after = await stub.DescribeNamespace(ws.DescribeNamespaceRequest(namespace="keep"), timeout=5)
    assert after == before
    missing = await call_error(
        stub.UpdateNamespace, ws.UpdateNamespaceRequest(namespace="ghost", description="x")
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND
