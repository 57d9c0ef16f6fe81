"""Throw-away certificate authorities and certificates for the TLS tests.

Made with the ``cryptography`` package, in memory, in milliseconds: EC P-256
keys, one-day validity. ``CertificateAuthority.issue`` signs a certificate that
serves as both a server and a client certificate (both extended key usages),
for the DNS names and IP addresses given, so one certificate per server is
enough for mutual TLS between roles. ``write`` puts the PEM files where a
server config or a CLI flag can name them.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class IssuedCertificate:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def serial(self) -> int:
        return self.certificate.serial_number

    def write(self, directory: Path, name: str) -> tuple[Path, Path]:
        """``<name>.crt`` and ``<name>.key`` in ``directory``; returns (cert path, key path)."""
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
        cert_path.write_bytes(self.cert_pem)
        key_path.write_bytes(self.key_pem)
        return cert_path, key_path


class CertificateAuthority:
    """A self-signed root that issues leaf certificates."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def write(self, directory: Path) -> Path:
        """``<name>-ca.crt`` in ``directory``; returns its path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.name}-ca.crt"
        path.write_bytes(self.cert_pem)
        return path

    def issue(
        self, common_name: str, *, dns_names: tuple[str, ...] = (), ips: tuple[str, ...] = ("127.0.0.1",)
    ) -> IssuedCertificate:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return IssuedCertificate(certificate=builder.sign(self.key, hashes.SHA256()), key=key)


@dataclass(frozen=True)
class PublicPKI:
    """Files of a frontend with mutual TLS: the server's CA and certificate, the client CA and a client's."""

    server_ca: Path
    server_cert: Path
    server_key: Path
    client_ca: Path
    client_cert: Path
    client_key: Path


def public_pki(directory: Path) -> PublicPKI:
    """A server CA with a certificate for 127.0.0.1 and ``legato.test``, and a client CA with one client."""
    server_ca, client_ca = CertificateAuthority("server"), CertificateAuthority("clients")
    server_cert, server_key = server_ca.issue("frontend", dns_names=("legato.test",)).write(
        directory, "frontend"
    )
    client_cert, client_key = client_ca.issue("app").write(directory, "app")
    return PublicPKI(
        server_ca=server_ca.write(directory),
        server_cert=server_cert,
        server_key=server_key,
        client_ca=client_ca.write(directory),
        client_cert=client_cert,
        client_key=client_key,
    )


@contextlib.asynccontextmanager
async def running_mtls_server(pki: PublicPKI) -> AsyncIterator[Any]:
    """An in-process server whose public API requires client certificates signed by ``pki``'s client CA."""
    from legato_server.common.tls import ServerTLSConfig
    from legato_server.server import start_server
    from tests.server.conftest import server_config_for_tests

    server = await start_server(
        server_config_for_tests(
            tls=ServerTLSConfig(
                cert_file=pki.server_cert,
                key_file=pki.server_key,
                client_ca_file=pki.client_ca,
                require_client_certificate=True,
            )
        )
    )
    try:
        yield server
    finally:
        await server.stop()
