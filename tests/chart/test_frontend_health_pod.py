"""The ``helm test`` Pod's script, as the chart renders it, run against a real TLS gRPC port.

The e2e run checks the Pod on Kubernetes over plain gRPC; here its TLS branch
runs against a gRPC server bound the way the frontend binds its public port
(``legato_server.common.tls.bind_port`` with a ``ServerTLSConfig``) and serving
the standard health service, with the CA file laid out as the frontend
Secret's mount gives it (``/tls/ca.crt``). Only the script is under test, so
the port answers SERVING from the start, whatever a whole server's readiness
rules are. The script is taken from ``helm template`` output, so these tests
follow the chart, not a copy of it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("cryptography")

import grpc  # noqa: E402
from grpc_health.v1 import health, health_pb2, health_pb2_grpc  # noqa: E402

from legato_server.common.tls import ServerTLSConfig, bind_port  # noqa: E402
from tests.certificates import PublicPKI, public_pki  # noqa: E402
from tests.chart.helm import ROOT, one, render  # noqa: E402
from tests.chart.test_render import CLUSTER  # noqa: E402

SCRIPT_DEADLINE_S = 60.0
"""A bound on the script's run; it stops on its own long before (DEADLINE_S, 5 s calls)."""


@dataclass(frozen=True)
class HealthPod:
    script: str
    env: dict[str, str]


def rendered_test_pod(tmp_path: Path) -> HealthPod:
    spec = {**CLUSTER["spec"], "frontend": {"tls": {"issuerRef": {"name": "ca"}}}}
    spec["internodeTLS"] = {"secretName": "orders-internode"}
    pod = one(render(tmp_path, {"cluster": {**CLUSTER, "spec": spec}}), "Pod")
    (container,) = pod["spec"]["containers"]
    assert container["args"][:2] == ["python", "-c"]
    return HealthPod(script=container["args"][2], env={e["name"]: e["value"] for e in container["env"]})


@pytest.fixture
def pki(tmp_path: Path) -> PublicPKI:
    return public_pki(tmp_path)


@pytest.fixture
async def tls_frontend(pki: PublicPKI) -> AsyncIterator[str]:
    """``127.0.0.1:<port>``: TLS with the frontend certificate, health SERVING."""
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    tls = ServerTLSConfig(cert_file=pki.server_cert, key_file=pki.server_key)
    port = bind_port(server, "127.0.0.1:0", tls=tls, internode_tls=None)
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=None)


async def run_pod_script(pod: HealthPod, **env: str) -> tuple[int, str]:
    """The script in a subprocess (the server answers from this event loop meanwhile): exit code, output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", pod.script,
        env={**os.environ, "PYTHONPATH": str(ROOT / "operator"), **pod.env, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), SCRIPT_DEADLINE_S)
    assert process.returncode is not None
    return process.returncode, output.decode()


def secret_mount(directory: Path, files: dict[str, Path]) -> Path:
    """A directory laid out like the frontend Secret's volume: one file per key."""
    directory.mkdir()
    for key, source in files.items():
        shutil.copyfile(source, directory / key)
    return directory


async def test_the_pod_trusts_the_secrets_ca_and_sees_serving(
    tmp_path: Path, pki: PublicPKI, tls_frontend: str
) -> None:
    pod = rendered_test_pod(tmp_path)
    mount = secret_mount(tmp_path / "tls", {"ca.crt": pki.server_ca, "tls.crt": pki.server_cert})
    code, output = await run_pod_script(
        pod, FRONTEND=tls_frontend, CA_FILE=str(mount / Path(pod.env["CA_FILE"]).name)
    )
    assert code == 0, output
    assert f"{tls_frontend}: SERVING" in output


async def test_a_secret_without_ca_crt_means_the_default_roots(
    tmp_path: Path, pki: PublicPKI, tls_frontend: str
) -> None:
    # A Secret holding only tls.crt and tls.key (a publicly issued certificate):
    # the Pod checks against the default roots instead of failing on a missing
    # file. This test CA is in no default root store, so the check is refused
    # and the Pod fails with its own message, not a traceback.
    pod = rendered_test_pod(tmp_path)
    mount = secret_mount(tmp_path / "tls", {"tls.crt": pki.server_cert, "tls.key": pki.server_key})
    code, output = await run_pod_script(
        pod, FRONTEND=tls_frontend, CA_FILE=str(mount / "ca.crt"), DEADLINE_S="0"
    )
    assert code != 0
    assert "Traceback" not in output, output
    assert f"{tls_frontend}: UNREACHABLE" in output, output
    assert "did not answer SERVING within 0 s" in output, output
