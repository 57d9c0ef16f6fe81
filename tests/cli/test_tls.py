"""``legato`` against a server with TLS: the ``--tls-*`` flags, their env vars, and the errors a user sees.

The server runs in this process (real gRPC, TLS with client certificates
required); the CLI runs as a child process, as a user runs it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

pytest.importorskip("cryptography")

from legato_server.server import RunningServer  # noqa: E402
from tests.certificates import CertificateAuthority, PublicPKI, public_pki, running_mtls_server  # noqa: E402
from tests.cli.harness import CliRun  # noqa: E402

TLS_ENVS = ("LEGATO_TLS", "LEGATO_TLS_CA", "LEGATO_TLS_CERT", "LEGATO_TLS_KEY", "LEGATO_TLS_SERVER_NAME")


@pytest.fixture
def pki(tmp_path: Path) -> PublicPKI:
    return public_pki(tmp_path)


@pytest.fixture
async def mtls_server(pki: PublicPKI) -> AsyncIterator[RunningServer]:
    async with running_mtls_server(pki) as server:
        yield server


async def legato(address: str, *args: str, env: dict[str, str] | None = None) -> CliRun:
    clean = {k: v for k, v in os.environ.items() if k not in ("LEGATO_ADDRESS", *TLS_ENVS)}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "legato.cli", "--address", address, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **(env or {})},
        check=False,
    )
    return CliRun(done.returncode, done.stdout, done.stderr)


def client_flags(pki: PublicPKI) -> list[str]:
    return [
        "--tls-ca",
        str(pki.server_ca),
        "--tls-cert",
        str(pki.client_cert),
        "--tls-key",
        str(pki.client_key),
    ]


async def test_the_tls_flags_connect(mtls_server: RunningServer, pki: PublicPKI) -> None:
    run = await legato(mtls_server.address, "namespace", "list", *client_flags(pki))
    assert run.returncode == 0, run.stderr
    assert "default" in run.stdout


async def test_the_tls_env_vars_connect(mtls_server: RunningServer, pki: PublicPKI) -> None:
    env = {
        "LEGATO_TLS_CA": str(pki.server_ca),
        "LEGATO_TLS_CERT": str(pki.client_cert),
        "LEGATO_TLS_KEY": str(pki.client_key),
        "LEGATO_TLS_SERVER_NAME": "legato.test",
    }
    run = await legato(mtls_server.address, "namespace", "list", env=env)
    assert run.returncode == 0, run.stderr
    assert "default" in run.stdout


async def test_an_untrusted_server_certificate_is_reported_as_tls(
    mtls_server: RunningServer, pki: PublicPKI, tmp_path: Path
) -> None:
    stranger = CertificateAuthority("stranger").write(tmp_path)
    flags = client_flags(pki)
    flags[1] = str(stranger)
    run = await legato(mtls_server.address, "namespace", "list", *flags)
    assert run.returncode == 1
    assert f"TLS handshake with {mtls_server.address} failed" in run.stderr
    assert "not signed by a trusted CA" in run.stderr


async def test_a_wrong_server_name_is_reported_as_tls(mtls_server: RunningServer, pki: PublicPKI) -> None:
    run = await legato(
        mtls_server.address, "namespace", "list", *client_flags(pki), "--tls-server-name", "other.test"
    )
    assert run.returncode == 1
    assert "does not name the host" in run.stderr


async def test_without_a_client_certificate_the_user_is_told_why_the_server_closed(
    mtls_server: RunningServer, pki: PublicPKI
) -> None:
    run = await legato(mtls_server.address, "namespace", "list", "--tls-ca", str(pki.server_ca))
    assert run.returncode == 1
    assert "client certificate" in run.stderr
    assert "start-dev" not in run.stderr


async def test_plaintext_to_a_tls_server_suggests_tls(mtls_server: RunningServer) -> None:
    run = await legato(mtls_server.address, "namespace", "list")
    assert run.returncode == 1
    assert "it may want TLS" in run.stderr


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        pytest.param(
            ["--tls-ca", "/nowhere/ca.crt"], "cannot read the TLS CA file /nowhere/ca.crt", id="no-ca"
        ),
        pytest.param(
            ["--tls-cert", "/nowhere/c.crt"], "--tls-cert and --tls-key go together", id="cert-alone"
        ),
    ],
)
async def test_bad_tls_flags_are_usage_errors(flags: list[str], needle: str) -> None:
    run = await legato("127.0.0.1:1", "namespace", "list", *flags)
    assert run.returncode == 2
    assert needle in run.stderr
