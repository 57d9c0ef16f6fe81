"""The RPC layer: which statuses are retried, how long it backs off, and what callers see."""

from __future__ import annotations

import random

import grpc
import grpc.aio
import pytest

from legato._service import RPCRetryConfig, ServiceClient
from legato.exceptions import RPCError, TLSError


def rpc_error(code: grpc.StatusCode, details: str = "boom") -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details)


class FakeStub:
    """Answers each call with the next scripted outcome (an exception to raise or a value to return)."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, object, float | None]] = []

    def __getattr__(self, rpc: str):  # noqa: ANN204 - any RPC name
        async def call(request: object, *, timeout: float | None = None, metadata: object = ()) -> object:  # noqa: ASYNC109
            self.calls.append((rpc, request, timeout))
            outcome = self.outcomes.pop(0)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome

        return call


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def service(stub: FakeStub, time: FakeTime, **retry: object) -> ServiceClient:
    return ServiceClient(stub, retry=RPCRetryConfig(**retry), sleep=time.sleep, clock=time.clock)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.DEADLINE_EXCEEDED],
    ids=lambda c: c.name,
)
async def test_transient_errors_are_retried_until_success(code: grpc.StatusCode) -> None:
    stub, time = FakeStub(rpc_error(code), rpc_error(code), "ok"), FakeTime()
    assert await service(stub, time).call("DescribeWorkflowExecution", "req") == "ok"
    assert len(stub.calls) == 3
    assert len(time.sleeps) == 2


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.INTERNAL,
    ],
    ids=lambda c: c.name,
)
async def test_other_errors_are_raised_at_once_with_their_status(code: grpc.StatusCode) -> None:
    stub, time = FakeStub(rpc_error(code, "bad field x")), FakeTime()
    with pytest.raises(RPCError) as raised:
        await service(stub, time).call("StartWorkflowExecution", "req")
    assert raised.value.status == code
    assert "bad field x" in raised.value.message
    assert len(stub.calls) == 1 and time.sleeps == []


async def test_deadline_exceeded_on_a_long_poll_goes_back_to_the_caller() -> None:
    stub, time = FakeStub(rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED)), FakeTime()
    with pytest.raises(RPCError) as raised:
        await service(stub, time).call("PollWorkflowTaskQueue", "req", long_poll=True)
    assert raised.value.status == grpc.StatusCode.DEADLINE_EXCEEDED
    assert len(stub.calls) == 1


async def test_retries_stop_after_max_attempts() -> None:
    stub = FakeStub(*[rpc_error(grpc.StatusCode.UNAVAILABLE)] * 10)
    time = FakeTime()
    with pytest.raises(RPCError) as raised:
        await service(stub, time, max_attempts=4).call("SignalWorkflowExecution", "req")
    assert raised.value.status == grpc.StatusCode.UNAVAILABLE
    assert len(stub.calls) == 4


async def test_retries_stop_when_the_elapsed_budget_is_spent() -> None:
    stub = FakeStub(*[rpc_error(grpc.StatusCode.UNAVAILABLE)] * 50)
    time = FakeTime()
    with pytest.raises(RPCError):
        await service(
            stub, time, max_attempts=50, initial_interval=1.0, max_interval=4.0, max_elapsed=10.0
        ).call("SignalWorkflowExecution", "req")
    assert time.now <= 10.0
    assert 2 <= len(stub.calls) < 50


async def test_no_retry_when_the_caller_says_so() -> None:
    stub, time = FakeStub(rpc_error(grpc.StatusCode.UNAVAILABLE)), FakeTime()
    with pytest.raises(RPCError):
        await service(stub, time).call("ResetStickyTaskQueue", "req", retry=False)
    assert len(stub.calls) == 1


async def test_deadlines_default_by_call_kind() -> None:
    stub, time = FakeStub("a", "b", "c"), FakeTime()
    client = service(stub, time)
    await client.call("DescribeWorkflowExecution", "req")
    await client.call("PollActivityTaskQueue", "req", long_poll=True)
    await client.call("QueryWorkflow", "req", deadline=3.0)
    assert [c[2] for c in stub.calls] == [10.0, 70.0, 3.0]


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    config = RPCRetryConfig(initial_interval=0.1, multiplier=2.0, max_interval=1.0)
    rng = random.Random(7)
    for retry_number, cap in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (12, 1.0)]:
        delays = [config.backoff(retry_number, rng) for _ in range(200)]
        assert all(cap / 2 <= d <= cap for d in delays)
        assert max(delays) - min(delays) > cap / 4  # jittered, not constant


async def test_deadline_exceeded_on_a_call_that_waits_for_a_worker_is_not_retried() -> None:
    stub, time = FakeStub(rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED), "never asked"), FakeTime()
    with pytest.raises(RPCError) as raised:
        await service(stub, time).call("QueryWorkflow", "req", waits_for_worker=True)
    assert raised.value.status == grpc.StatusCode.DEADLINE_EXCEEDED
    assert len(stub.calls) == 1 and time.sleeps == []


HANDSHAKE = (
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:10.0.0.1:7233: Tls handshake failed"
)


@pytest.mark.parametrize(
    ("details", "hint"),
    [
        pytest.param(
            f"{HANDSHAKE} (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: CERTIFICATE_VERIFY_FAILED",
            "not signed by a trusted CA",
            id="unknown-ca",
        ),
        pytest.param(
            "last error: UNKNOWN: Custom verification check failed: Hostname Verification Check failed.",
            "does not name the host",
            id="wrong-name",
        ),
        pytest.param(f"{HANDSHAKE}: WRONG_VERSION_NUMBER", "does not speak TLS", id="plaintext-server"),
    ],
)
async def test_a_failed_tls_handshake_raises_tls_error_without_retrying(details: str, hint: str) -> None:
    stub, time = FakeStub(rpc_error(grpc.StatusCode.UNAVAILABLE, details)), FakeTime()
    with pytest.raises(TLSError, match=hint) as raised:
        await service(stub, time).call("GetSystemInfo", "req")
    assert raised.value.status == grpc.StatusCode.UNAVAILABLE
    assert len(stub.calls) == 1
    assert time.sleeps == []


async def test_a_connection_closed_by_the_server_is_retried_then_explained() -> None:
    closed = "failed to connect to all addresses; last error: UNAVAILABLE: ipv4:10.0.0.1:7233: Socket closed"
    stub, time = FakeStub(*[rpc_error(grpc.StatusCode.UNAVAILABLE, closed)] * 3), FakeTime()
    with pytest.raises(RPCError, match="may want TLS, or a client certificate") as raised:
        await service(stub, time, max_attempts=3).call("GetSystemInfo", "req")
    assert not isinstance(raised.value, TLSError)
    assert len(stub.calls) == 3
