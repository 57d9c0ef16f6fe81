"""TLS on a real server: the public API, mutual TLS, certificate rotation, internode mTLS, bad config.

Certificates are made per test (``tests.certificates``); servers run in this
process (``start_server``) except the two-process cluster, which runs
``legato-server start --config`` twice on one SQLite file, as an operator would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

pytest.importorskip("cryptography")

from cryptography import x509  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

from legato import activity, workflow  # noqa: E402
from legato.client import Client, RPCRetryConfig, TLSConfig  # noqa: E402
from legato.exceptions import RPCError, TLSError  # noqa: E402
from legato.worker import Worker  # noqa: E402
from legato_server.common import tls as tls_module  # noqa: E402
from legato_server.common.tls import InternodeTLSConfig, ServerTLSConfig, bind_port, open_channel  # noqa: E402
from legato_server.server import RunningServer, ServerConfig, server_config_from_mapping, start_server  # noqa: E402
from tests.certificates import CertificateAuthority, PublicPKI, public_pki, running_mtls_server  # noqa: E402
from tests.server.conftest import server_config_for_tests  # noqa: E402
from tests.server.test_start_dev import START_DEADLINE_S, STOP_DEADLINE_S, free_port  # noqa: E402

ONE_ATTEMPT = RPCRetryConfig(max_attempts=1)
FAST_FAILURE_S = 5.0
"""A TLS failure must surface within this, not after the SDK's retry budget (a minute)."""


@pytest.fixture
def pki(tmp_path: Path) -> PublicPKI:
    return public_pki(tmp_path)


@pytest.fixture
async def tls_server(pki: PublicPKI) -> AsyncIterator[RunningServer]:
    server = await start_server(
        server_config_for_tests(
            tls=ServerTLSConfig(
                cert_file=pki.server_cert, key_file=pki.server_key, client_ca_file=pki.client_ca
            )
        )
    )
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def mtls_server(pki: PublicPKI) -> AsyncIterator[RunningServer]:
    async with running_mtls_server(pki) as server:
        yield server


async def connect(address: str, tls: bool | TLSConfig) -> Client:
    return await Client.connect(address, tls=tls, rpc_retry=ONE_ATTEMPT)


async def can_list_namespaces(client: Client) -> bool:
    from legato.api.v1 import workflow_service_pb2 as ws

    response = await client.service.call("ListNamespaces", ws.ListNamespacesRequest())
    return "default" in {n.namespace_info.name for n in response.namespaces}


# ---------------------------------------------------------------- public API


async def test_a_client_trusting_the_server_ca_connects(tls_server: RunningServer, pki: PublicPKI) -> None:
    client = await connect(tls_server.address, TLSConfig.from_files(ca_file=pki.server_ca))
    try:
        assert await can_list_namespaces(client)
    finally:
        await client.close()


async def test_a_single_process_with_public_tls_and_no_internode_tls_is_serving(
    tls_server: RunningServer, pki: PublicPKI
) -> None:
    # Its history and matching roles are only called in-process: their advertised
    # address check must not dial the TLS port in plaintext and call that unreachable.
    await asyncio.sleep(1)  # a few readiness passes
    credentials = grpc.ssl_channel_credentials(root_certificates=pki.server_ca.read_bytes())
    async with grpc.aio.secure_channel(tls_server.address, credentials) as channel:
        response = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_a_client_trusting_another_ca_gets_a_tls_error_at_once(
    tls_server: RunningServer, tmp_path: Path
) -> None:
    stranger = CertificateAuthority("stranger").write(tmp_path)
    started = time.monotonic()
    with pytest.raises(TLSError) as raised:
        # The default retry budget: a TLS failure must not wait it out.
        await Client.connect(tls_server.address, tls=TLSConfig.from_files(ca_file=stranger))
    assert time.monotonic() - started < FAST_FAILURE_S
    assert raised.value.status == grpc.StatusCode.UNAVAILABLE
    assert "certificate is not signed by a trusted CA" in str(raised.value)


async def test_a_server_name_not_in_the_certificate_is_a_tls_error(
    tls_server: RunningServer, pki: PublicPKI
) -> None:
    with pytest.raises(TLSError, match="does not name the host"):
        await connect(tls_server.address, TLSConfig.from_files(ca_file=pki.server_ca, domain="other.test"))
    client = await connect(
        tls_server.address, TLSConfig.from_files(ca_file=pki.server_ca, domain="legato.test")
    )
    await client.close()


async def test_a_plaintext_client_is_told_the_server_may_want_tls(tls_server: RunningServer) -> None:
    with pytest.raises(RPCError, match="it may want TLS"):
        await connect(tls_server.address, False)


async def test_a_tls_client_of_a_plaintext_server_is_told_so(
    running_server: RunningServer, pki: PublicPKI
) -> None:
    with pytest.raises(TLSError, match="does not speak TLS"):
        await connect(running_server.address, TLSConfig.from_files(ca_file=pki.server_ca))


async def test_with_mtls_a_client_without_a_certificate_is_refused(
    mtls_server: RunningServer, pki: PublicPKI
) -> None:
    with pytest.raises(RPCError, match="client certificate") as raised:
        await connect(mtls_server.address, TLSConfig.from_files(ca_file=pki.server_ca))
    assert raised.value.status == grpc.StatusCode.UNAVAILABLE


async def test_with_mtls_a_certificate_from_another_ca_is_refused(
    mtls_server: RunningServer, pki: PublicPKI, tmp_path: Path
) -> None:
    cert, key = CertificateAuthority("stranger").issue("intruder").write(tmp_path, "intruder")
    with pytest.raises(RPCError):
        await connect(
            mtls_server.address, TLSConfig.from_files(ca_file=pki.server_ca, cert_file=cert, key_file=key)
        )


async def test_with_mtls_a_client_certificate_from_the_client_ca_is_accepted(
    mtls_server: RunningServer, pki: PublicPKI
) -> None:
    tls = TLSConfig.from_files(ca_file=pki.server_ca, cert_file=pki.client_cert, key_file=pki.client_key)
    client = await connect(mtls_server.address, tls)
    try:
        assert await can_list_namespaces(client)
    finally:
        await client.close()


# ---------------------------------------------------------------- rotation


def served_certificate(address: str) -> x509.Certificate:
    """The certificate a new TLS connection to ``address`` is offered (not verified)."""
    host, port = address.rsplit(":", 1)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=None) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


async def eventually(condition: Callable[[], Awaitable[bool]], *, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {within}s")
        await asyncio.sleep(0.1)


async def test_a_certificate_replaced_on_disk_serves_new_connections_without_restart(
    tls_server: RunningServer, pki: PublicPKI, tmp_path: Path
) -> None:
    first = await asyncio.to_thread(served_certificate, tls_server.address)
    old_client = await connect(tls_server.address, TLSConfig.from_files(ca_file=pki.server_ca))

    renewed_ca = CertificateAuthority("renewed")
    renewed = renewed_ca.issue("frontend-renewed")
    new_ca_file = renewed_ca.write(tmp_path / "renewed")
    # As cert-manager does it: both files replaced, each in one rename.
    for content, target in ((renewed.key_pem, pki.server_key), (renewed.cert_pem, pki.server_cert)):
        staging = target.with_suffix(".new")
        staging.write_bytes(content)
        staging.replace(target)

    async def serves_the_new_certificate() -> bool:
        served = await asyncio.to_thread(served_certificate, tls_server.address)
        return served.serial_number == renewed.serial

    await eventually(serves_the_new_certificate)
    assert first.serial_number != renewed.serial
    new_client = await connect(tls_server.address, TLSConfig.from_files(ca_file=new_ca_file))
    try:
        assert await can_list_namespaces(new_client)
        # A connection made before the change keeps working.
        assert await can_list_namespaces(old_client)
    finally:
        await new_client.close()
        await old_client.close()
    with pytest.raises(TLSError):
        await connect(tls_server.address, TLSConfig.from_files(ca_file=pki.server_ca))


async def test_a_key_that_does_not_fit_the_new_certificate_keeps_the_old_pair(
    tls_server: RunningServer, pki: PublicPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tls_module, "RELOAD_CHECK_INTERVAL_S", 0.0)
    first = await asyncio.to_thread(served_certificate, tls_server.address)
    half_written = CertificateAuthority("renewed").issue("frontend-renewed")
    pki.server_cert.write_bytes(half_written.cert_pem)  # the key is not replaced yet
    for _ in range(3):
        served = await asyncio.to_thread(served_certificate, tls_server.address)
        assert served.serial_number == first.serial_number
    pki.server_key.write_bytes(half_written.key_pem)

    async def serves_the_new_certificate() -> bool:
        served = await asyncio.to_thread(served_certificate, tls_server.address)
        return served.serial_number == half_written.serial

    await eventually(serves_the_new_certificate)


# ---------------------------------------------------------------- config


def tls_yaml(pki: PublicPKI, **changes: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "cert_file": str(pki.server_cert),
        "key_file": str(pki.server_key),
        "client_ca_file": str(pki.client_ca),
        "require_client_certificate": True,
    }
    section.update(changes)
    return {"persistence": {"kind": "sqlite"}, "tls": section}


def test_the_yaml_tls_keys_make_a_server_tls_config(pki: PublicPKI) -> None:
    config = server_config_from_mapping(tls_yaml(pki))
    assert config.tls == ServerTLSConfig(
        cert_file=pki.server_cert,
        key_file=pki.server_key,
        client_ca_file=pki.client_ca,
        require_client_certificate=True,
    )
    assert config.internode_tls is None


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        pytest.param(
            {"cert_file": "/nowhere/tls.crt"}, "tls.cert_file: cannot read /nowhere/tls.crt", id="no-cert"
        ),
        pytest.param(
            {"key_file": "/nowhere/tls.key"}, "tls.key_file: cannot read /nowhere/tls.key", id="no-key"
        ),
        pytest.param(
            {"client_ca_file": "/nowhere/ca.crt"},
            "tls.client_ca_file: cannot read /nowhere/ca.crt",
            id="no-ca",
        ),
        pytest.param({"cert_file": None}, "tls.cert_file is required", id="cert-missing"),
        pytest.param({"client_ca_file": None}, "needs tls.client_ca_file", id="mtls-without-ca"),
        pytest.param({"require_client_certificate": "yes"}, "expected true or false", id="flag-not-bool"),
        pytest.param({"colour": "blue"}, "unknown config key tls.colour", id="unknown-key"),
    ],
)
def test_bad_tls_settings_name_the_key_and_the_file(
    pki: PublicPKI, changes: dict[str, Any], needle: str
) -> None:
    with pytest.raises(ValueError) as raised:
        server_config_from_mapping(tls_yaml(pki, **changes))
    assert needle in str(raised.value)


def test_a_key_of_another_certificate_is_refused_at_start(pki: PublicPKI) -> None:
    with pytest.raises(ValueError, match=r"tls.key_file: .* does not fit tls.cert_file"):
        server_config_from_mapping(tls_yaml(pki, key_file=str(pki.client_key)))


def test_a_ca_file_without_certificates_is_refused_at_start(pki: PublicPKI) -> None:
    with pytest.raises(ValueError, match="tls.client_ca_file: .* no usable PEM CA certificate"):
        server_config_from_mapping(tls_yaml(pki, client_ca_file=str(pki.server_key)))


def test_public_tls_without_internode_tls_is_refused_when_roles_are_split(pki: PublicPKI) -> None:
    data = tls_yaml(pki)
    data["services"] = ["history", "matching"]
    if "peers" in {f.name for f in dataclasses.fields(ServerConfig)}:
        data["peers"] = {"history": "127.0.0.1:1", "matching": "127.0.0.1:1"}
    with pytest.raises(ValueError, match="set internode_tls too"):
        server_config_from_mapping(data)


def test_legato_server_start_reports_a_missing_certificate_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from legato_server.cli import main

    config = tmp_path / "legato.yaml"
    missing = tmp_path / "missing.crt"
    config.write_text(
        yaml.safe_dump(
            {
                "persistence": {"kind": "sqlite"},
                "internode_tls": {"cert_file": str(missing), "key_file": "k", "ca_file": "c"},
            }
        )
    )
    assert main(["start", "--config", str(config)]) == 1
    assert f"internode_tls.cert_file: cannot read {missing}" in capsys.readouterr().err


# ---------------------------------------------------------------- internode


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(greet, name, start_to_close_timeout=10.0)


@activity.defn
async def greet(name: str) -> str:
    return f"hello, {name}"


@dataclass(frozen=True)
class ClusterPKI:
    public: PublicPKI
    internode_ca: Path
    node_certs: dict[str, tuple[Path, Path]]


INTERNODE_NAME = "legato-internode"


def cluster_pki(public: PublicPKI, directory: Path) -> ClusterPKI:
    internode = CertificateAuthority("internode")
    # No IP address in the node certificates: peers dial by IP and must verify the service name.
    nodes = {
        role: internode.issue(role, dns_names=(INTERNODE_NAME,), ips=()).write(directory, f"node-{role}")
        for role in ("frontend", "backend")
    }
    return ClusterPKI(public=public, internode_ca=internode.write(directory), node_certs=nodes)


def process_config(
    cluster: ClusterPKI, *, role: str, services: list[str], port: int, db: Path, peers: dict[str, str]
) -> dict[str, Any]:
    cert, key = cluster.node_certs[role]
    config: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "services": services,
        "num_history_shards": 4,
        "namespaces": ["default"],
        "persistence": {"kind": "sqlite", "sqlite": {"path": str(db)}},
        "internode_tls": {
            "cert_file": str(cert),
            "key_file": str(key),
            "ca_file": str(cluster.internode_ca),
            "server_name": INTERNODE_NAME,
        },
    }
    if "frontend" in services:
        config["tls"] = {
            "cert_file": str(cluster.public.server_cert),
            "key_file": str(cluster.public.server_key),
            "client_ca_file": str(cluster.public.client_ca),
        }
    if peers and "peers" in {f.name for f in dataclasses.fields(ServerConfig)}:
        config["peers"] = peers  # roles found through ServerConfig.peers, where membership does not route yet
    return config


def start_process(config_path: Path, log_path: Path) -> subprocess.Popen[str]:
    log = log_path.open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from legato_server.cli import main; raise SystemExit(main())",
            "start",
            "--config",
            str(config_path),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_process(process: subprocess.Popen[str], log_path: Path) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=STOP_DEADLINE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"server did not stop within {STOP_DEADLINE_S}s:\n{log_path.read_text()}")
    assert code == 0, log_path.read_text()


def wait_until_serving_tls(
    address: str,
    process: subprocess.Popen[str],
    log_path: Path,
    credentials: grpc.ChannelCredentials,
    options: list[Any],
) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    with grpc.secure_channel(address, credentials, options=options) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"server exited with {process.returncode} before serving:\n{log_path.read_text()}"
                )
            try:
                response = health.Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=1, wait_for_ready=True
                )
                if response.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"server not SERVING on {address} within {START_DEADLINE_S}s:\n{log_path.read_text()}"
                )


async def test_a_frontend_and_a_backend_process_run_a_workflow_over_internode_mtls(
    pki: PublicPKI, tmp_path: Path
) -> None:
    cluster = cluster_pki(pki, tmp_path / "internode")
    db = tmp_path / "cluster.db"
    frontend_port, backend_port = free_port(), free_port()
    backend_address = f"127.0.0.1:{backend_port}"
    configs = {
        "backend": process_config(
            cluster, role="backend", services=["history", "matching"], port=backend_port, db=db, peers={}
        ),
        "frontend": process_config(
            cluster,
            role="frontend",
            services=["frontend"],
            port=frontend_port,
            db=db,
            peers={"history": backend_address, "matching": backend_address},
        ),
    }
    processes: list[tuple[subprocess.Popen[str], Path]] = []
    try:
        for role in (
            "backend",
            "frontend",
        ):  # the backend first: the frontend's database setup then finds it done
            path = tmp_path / f"{role}.yaml"
            path.write_text(yaml.safe_dump(configs[role]))
            processes.append((start_process(path, tmp_path / f"{role}.log"), tmp_path / f"{role}.log"))
            node_cert, node_key = cluster.node_certs["frontend"]
            node_credentials = grpc.ssl_channel_credentials(
                cluster.internode_ca.read_bytes(), node_key.read_bytes(), node_cert.read_bytes()
            )
            port = backend_port if role == "backend" else frontend_port
            await asyncio.to_thread(
                wait_until_serving_tls,
                f"127.0.0.1:{port}",
                processes[-1][0],
                tmp_path / f"{role}.log",
                node_credentials,
                [("grpc.ssl_target_name_override", INTERNODE_NAME)],
            )

        tls = TLSConfig.from_files(ca_file=pki.server_ca, cert_file=pki.client_cert, key_file=pki.client_key)
        client = await Client.connect(f"127.0.0.1:{frontend_port}", tls=tls)
        task_queue = f"tls-{uuid.uuid4().hex[:8]}"
        try:
            async with Worker(
                client, task_queue=task_queue, workflows=[GreetingWorkflow], activities=[greet]
            ):
                result = await asyncio.wait_for(
                    client.execute_workflow(
                        GreetingWorkflow.run, "internode", id=f"wf-{task_queue}", task_queue=task_queue
                    ),
                    timeout=60,
                )
            assert result == "hello, internode"
        finally:
            await client.close()

        # The backend's internal services refuse a caller without an internode certificate.
        public_only = grpc.ssl_channel_credentials(cluster.internode_ca.read_bytes())
        with grpc.secure_channel(
            backend_address, public_only, options=[("grpc.ssl_target_name_override", INTERNODE_NAME)]
        ) as channel:
            with pytest.raises(grpc.RpcError):
                health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
    finally:
        for process, log_path in reversed(processes):
            await asyncio.to_thread(stop_process, process, log_path)


async def test_a_peer_channel_presents_the_renewed_client_certificate_without_reopening_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tls_module, "RELOAD_CHECK_INTERVAL_S", 0.0)
    internode = CertificateAuthority("internode")
    ca_file = internode.write(tmp_path)
    server_cert, server_key = internode.issue("server", dns_names=(INTERNODE_NAME,), ips=()).write(
        tmp_path, "srv"
    )
    client_cert, client_key = internode.issue("client-before").write(tmp_path, "client")

    async def who_am_i(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return b",".join(context.auth_context().get("x509_common_name", []))

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "test.Peer", {"WhoAmI": grpc.unary_unary_rpc_method_handler(who_am_i)}
            )
        ]
    )
    server_side = InternodeTLSConfig(cert_file=server_cert, key_file=server_key, ca_file=ca_file)
    port = bind_port(server, "127.0.0.1:0", tls=None, internode_tls=server_side)
    await server.start()
    channel = open_channel(
        f"127.0.0.1:{port}",
        internode_tls=InternodeTLSConfig(
            cert_file=client_cert, key_file=client_key, ca_file=ca_file, server_name=INTERNODE_NAME
        ),
    )
    try:
        who_am_i_call = channel.unary_unary("/test.Peer/WhoAmI")  # made once, as a stub does
        assert await who_am_i_call(b"", timeout=5) == b"client-before"
        renewed = internode.issue("client-after")
        client_key.write_bytes(renewed.key_pem)
        client_cert.write_bytes(renewed.cert_pem)
        assert await who_am_i_call(b"", timeout=5) == b"client-after"
    finally:
        await channel.close()
        await server.stop(None)


async def test_with_both_settings_the_public_api_takes_client_certificates_and_internal_services_only_peers(
    pki: PublicPKI, tmp_path: Path
) -> None:
    from legato_server.internal.v1 import history_service_pb2, history_service_pb2_grpc

    cluster = cluster_pki(pki, tmp_path / "internode")
    node_cert, node_key = cluster.node_certs["backend"]
    server = await start_server(
        server_config_for_tests(
            tls=ServerTLSConfig(
                cert_file=pki.server_cert, key_file=pki.server_key, client_ca_file=pki.client_ca
            ),
            internode_tls=InternodeTLSConfig(
                cert_file=node_cert,
                key_file=node_key,
                ca_file=cluster.internode_ca,
                server_name=INTERNODE_NAME,
            ),
        )
    )
    app = TLSConfig.from_files(ca_file=pki.server_ca, cert_file=pki.client_cert, key_file=pki.client_key)
    peer = TLSConfig.from_files(
        ca_file=cluster.internode_ca, cert_file=node_cert, key_file=node_key, domain=INTERNODE_NAME
    )
    try:
        # The public API: the frontend certificate (SNI: none), a client certificate of the client CA.
        client = await connect(server.address, app)
        try:
            assert await can_list_namespaces(client)
        finally:
            await client.close()
        with pytest.raises(RPCError, match="client certificate"):
            await connect(server.address, TLSConfig.from_files(ca_file=pki.server_ca))

        async def describe_workflow(tls: TLSConfig) -> grpc.StatusCode:
            credentials, options = tls.channel_arguments()
            async with grpc.aio.secure_channel(server.address, credentials, options=options) as channel:
                stub = history_service_pb2_grpc.HistoryServiceStub(channel)
                try:
                    await stub.DescribeWorkflowExecution(
                        history_service_pb2.DescribeWorkflowExecutionRequest(), timeout=5
                    )
                except grpc.aio.AioRpcError as err:
                    return err.code()
                return grpc.StatusCode.OK

        # The internal services: the internode certificate (SNI: server_name), peers only.
        assert await describe_workflow(app) == grpc.StatusCode.PERMISSION_DENIED
        # Past the guard: the handler answers (no such namespace in an empty request).
        assert await describe_workflow(peer) == grpc.StatusCode.NOT_FOUND
    finally:
        await server.stop()
