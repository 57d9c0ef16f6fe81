"""Ask a Legato process's ``grpc.health.v1.Health/Check`` whether it serves.

Each Legato process answers SERVING for the service "" only when its role can
serve (history: its shards are acquired; frontend: history and matching hosts
are alive). The operator's Ready condition is built from these answers, not
from container states.

The request and the response are encoded by hand (an empty request; the
response's field 1 is the status) so this module needs only grpcio: the
operator's extra does not pull in grpcio-health-checking, and the server image
can run it as an exec readiness probe when the port speaks TLS, which the
kubelet's native ``grpc`` probe cannot::

    python -m legato_operator.health 127.0.0.1:7233 --ca ca.crt --cert tls.crt --key tls.key
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import grpc

CHECK_METHOD = "/grpc.health.v1.Health/Check"
STATUS_NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
SERVING = "SERVING"


@dataclass(frozen=True)
class TLSMaterial:
    """PEM bytes for a TLS health check (``cert``/``key`` for mutual TLS, as internode TLS requires)."""

    ca: bytes | None
    cert: bytes | None = None
    key: bytes | None = None
    server_name: str | None = None
    """The name to expect in the server's certificate (SNI); peers dial by IP."""

    @classmethod
    def from_files(
        cls, ca: Path, cert: Path | None = None, key: Path | None = None, server_name: str | None = None
    ) -> TLSMaterial:
        return cls(
            ca.read_bytes(),
            cert.read_bytes() if cert else None,
            key.read_bytes() if key else None,
            server_name,
        )


def decode_status(response: bytes) -> str:
    """The status name in a serialised HealthCheckResponse (``status`` is field 1, a varint)."""
    if not response:
        return STATUS_NAMES[0]  # proto3 leaves a zero enum out
    if response[0] != 0x08 or len(response) < 2:
        return f"UNDECODABLE({response.hex()})"
    return STATUS_NAMES.get(response[1], f"STATUS_{response[1]}")


def _channel(address: str, tls: TLSMaterial | None) -> grpc.Channel:
    if tls is None:
        return grpc.insecure_channel(address)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=tls.ca, private_key=tls.key, certificate_chain=tls.cert
    )
    options = [("grpc.ssl_target_name_override", tls.server_name)] if tls.server_name else []
    return grpc.secure_channel(address, credentials, options=options)


def check(address: str, *, timeout: float = 2.0, tls: TLSMaterial | None = None) -> str:
    """``SERVING``, another status name, or ``UNREACHABLE: <why>``; never raises for a network error."""
    with _channel(address, tls) as channel:
        call = channel.unary_unary(CHECK_METHOD, request_serializer=None, response_deserializer=None)
        try:
            response = call(b"", timeout=timeout)
        except grpc.RpcError as error:
            code = error.code() if hasattr(error, "code") else None
            details = error.details() if hasattr(error, "details") else str(error)
            return f"UNREACHABLE: {getattr(code, 'name', code)} {details}"
    return decode_status(response)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m legato_operator.health", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("address", help="host:port")
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--ca", type=Path, help="CA bundle: check over TLS")
    parser.add_argument("--cert", type=Path, help="client certificate (mutual TLS)")
    parser.add_argument("--key", type=Path, help="client key (mutual TLS)")
    parser.add_argument("--server-name", help="name to expect in the server's certificate")
    args = parser.parse_args(argv)
    tls = TLSMaterial.from_files(args.ca, args.cert, args.key, args.server_name) if args.ca else None
    status = check(args.address, timeout=args.timeout, tls=tls)
    print(status)
    return 0 if status == SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
