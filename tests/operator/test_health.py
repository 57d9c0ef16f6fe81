"""The operator's gRPC health check against real gRPC servers: plain, and mutual TLS by name."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from legato_operator import health
from tests.certificates import CertificateAuthority

health_v1 = pytest.importorskip("grpc_health.v1.health")
health_pb2 = pytest.importorskip("grpc_health.v1.health_pb2")
health_pb2_grpc = pytest.importorskip("grpc_health.v1.health_pb2_grpc")

INTERNODE_NAME = "legato-internode"


def _serve(credentials: grpc.ServerCredentials | None, status: int) -> tuple[grpc.Server, int]:
    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    servicer = health_v1.HealthServicer()
    servicer.set("", status)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = (
        server.add_insecure_port("127.0.0.1:0")
        if credentials is None
        else server.add_secure_port("127.0.0.1:0", credentials)
    )
    server.start()
    return server, port


@pytest.fixture
def authority() -> CertificateAuthority:
    return CertificateAuthority("internode-ca")


@pytest.fixture
def mutual_tls_server(authority: CertificateAuthority) -> Iterator[int]:
    issued = authority.issue(INTERNODE_NAME, dns_names=(INTERNODE_NAME,))
    credentials = grpc.ssl_server_credentials(
        [(issued.key_pem, issued.cert_pem)], root_certificates=authority.cert_pem, require_client_auth=True
    )
    server, port = _serve(credentials, health_pb2.HealthCheckResponse.SERVING)
    yield port
    server.stop(None)


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        pytest.param(health_pb2.HealthCheckResponse.SERVING, "SERVING", id="serving"),
        pytest.param(health_pb2.HealthCheckResponse.NOT_SERVING, "NOT_SERVING", id="not-serving"),
    ],
)
def test_plain_check(status: int, answer: str) -> None:
    server, port = _serve(None, status)
    try:
        assert health.check(f"127.0.0.1:{port}") == answer
    finally:
        server.stop(None)


def test_mutual_tls_check_presents_the_internode_certificate(
    authority: CertificateAuthority, mutual_tls_server: int
) -> None:
    client = authority.issue(INTERNODE_NAME, dns_names=(INTERNODE_NAME,))
    material = health.TLSMaterial(
        ca=authority.cert_pem, cert=client.cert_pem, key=client.key_pem, server_name=INTERNODE_NAME
    )
    assert health.check(f"127.0.0.1:{mutual_tls_server}", tls=material) == "SERVING"


def test_mutual_tls_without_a_client_certificate_is_unreachable_not_an_exception(
    authority: CertificateAuthority, mutual_tls_server: int
) -> None:
    material = health.TLSMaterial(ca=authority.cert_pem, server_name=INTERNODE_NAME)
    assert health.check(f"127.0.0.1:{mutual_tls_server}", tls=material, timeout=2).startswith("UNREACHABLE")


def test_probe_command_exits_zero_only_when_serving(
    tmp_path: Path, authority: CertificateAuthority, mutual_tls_server: int
) -> None:
    client = authority.issue(INTERNODE_NAME, dns_names=(INTERNODE_NAME,))
    (tmp_path / "ca.crt").write_bytes(authority.cert_pem)
    (tmp_path / "tls.crt").write_bytes(client.cert_pem)
    (tmp_path / "tls.key").write_bytes(client.key_pem)
    args = [
        f"127.0.0.1:{mutual_tls_server}",
        "--ca",
        str(tmp_path / "ca.crt"),
        "--server-name",
        INTERNODE_NAME,
    ]
    assert health.main([*args, "--cert", str(tmp_path / "tls.crt"), "--key", str(tmp_path / "tls.key")]) == 0
    assert health.main(args + ["--timeout", "1"]) == 1
