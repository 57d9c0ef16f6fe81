"""TLS for the server's one port and for its calls to peers, with certificates re-read on change.

Two settings, both optional (``ServerConfig.tls`` and ``ServerConfig.internode_tls``):

* ``ServerTLSConfig``: the public frontend API over TLS; with
  ``client_ca_file`` a client certificate is checked when presented, and with
  ``require_client_certificate`` a client without one is refused (mTLS).
* ``InternodeTLSConfig``: roles in different processes talk mutual TLS; every
  process presents ``cert_file`` both as server and as client and trusts
  certificates signed by ``ca_file``. ``server_name`` is the name peers verify
  in each other's certificate, because pods reach each other by IP while
  certificates name a service.

**One port, one set of server credentials.** A process serves the public API
and the internal services on the same port, so the two settings merge
(``bind_port``):

* Server certificate: the frontend certificate first, then the internode one.
  gRPC picks the certificate by the name the client asks for (SNI): peers ask
  for ``internode_tls.server_name`` and get the internode certificate, every
  other client (including those connecting by IP, which sends no name) gets the
  frontend's. Hence ``server_name`` is required when both are set, and must
  not be a name of the frontend certificate.
* Client certificates: verified against the union of ``tls.client_ca_file``
  and ``internode_tls.ca_file`` (the PEM bundles concatenated). They are
  *required* whenever internode TLS is on (the internal services must not be
  open to anyone who can reach the port) or ``require_client_certificate`` is
  set. So with internode TLS on, public clients need a client certificate too.
  Because a certificate from the frontend's client CA passes that check too,
  the internal services also want the caller's certificate to name
  ``internode_tls.server_name`` (``server_interceptors``); other callers get
  PERMISSION_DENIED. (The names are not checked against the issuing CA: a
  client CA that would issue a certificate with the internode name is trusted
  as a peer. A separate internal port would remove that caveat.)
* ``tls`` alone in a process whose roles are split over several processes is
  refused (``ServerConfig``): peers would dial a TLS port in plaintext.

**Rotation** (cert-manager renews the files in place, usually by swapping a
symlink). The server's credentials are ``grpc.dynamic_ssl_server_credentials``:
gRPC asks ``_ServerCertificates.fetch`` before each new TLS handshake, which
looks at the files at most once per ``RELOAD_CHECK_INTERVAL_S`` (a ``stat``
of each) and, when their content changed, hands gRPC the new certificates.
Connections already open keep the certificate they were made with. A new pair
is only used when the key matches the certificate; a half-written update keeps
the old pair in use (with one warning) until the next change completes it.

Outgoing peer channels (``open_channel``): channel credentials cannot change in
gRPC, so ``RotatingChannel`` opens a fresh channel with the new files on the
first call after they changed (checked at most once per interval) and closes
the old one after ``OLD_CHANNEL_GRACE_S``, letting calls in flight finish.
Limits: a call already started on the old channel completes on it, and nothing
happens until the next call (an idle channel holds the old certificate,
harmless since it sends nothing).

Bad settings fail at start with a ``ValueError`` naming the key and the file
(``validate``), never later as a gRPC error on the first handshake.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import os
import ssl
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

log = logging.getLogger(__name__)

RELOAD_CHECK_INTERVAL_S = 1.0
"""How often, at most, certificate files are checked for changes."""

OLD_CHANNEL_GRACE_S = 30.0
"""How long calls in flight on a peer channel replaced by a certificate change may take to finish."""


@dataclass(frozen=True)
class ServerTLSConfig:
    """TLS of the public frontend API (YAML key ``tls``)."""

    cert_file: Path
    """PEM certificate chain the server presents."""
    key_file: Path
    """PEM private key of ``cert_file``."""
    client_ca_file: Path | None = None
    """PEM CA bundle that signs client certificates; without it, client certificates are not checked."""
    require_client_certificate: bool = False
    """Refuse clients that present no certificate signed by ``client_ca_file`` (mutual TLS)."""


@dataclass(frozen=True)
class InternodeTLSConfig:
    """Mutual TLS between roles in different processes (YAML key ``internode_tls``)."""

    cert_file: Path
    """PEM certificate chain this process presents to peers, as server and as client."""
    key_file: Path
    """PEM private key of ``cert_file``."""
    ca_file: Path
    """PEM CA bundle that signs every process's ``cert_file``."""
    server_name: str | None = None
    """Name to verify in a peer's certificate instead of the host of its address; also sent as SNI."""


# ---------------------------------------------------------------- validation


def validate(tls: ServerTLSConfig | None, internode_tls: InternodeTLSConfig | None) -> None:
    """Check every file is readable PEM and every key fits its certificate; ValueError names the key."""
    if tls is not None:
        _check_pair(tls.cert_file, tls.key_file, "tls")
        if tls.client_ca_file is not None:
            _check_ca(tls.client_ca_file, "tls.client_ca_file")
        elif tls.require_client_certificate:
            raise ValueError("tls.require_client_certificate needs tls.client_ca_file")
    if internode_tls is not None:
        _check_pair(internode_tls.cert_file, internode_tls.key_file, "internode_tls")
        _check_ca(internode_tls.ca_file, "internode_tls.ca_file")
        if tls is not None and not internode_tls.server_name:
            raise ValueError(
                "internode_tls.server_name is required when tls is set too: peers ask for it "
                "to get the internode certificate instead of the frontend's"
            )


def _read(path: Path, key: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise ValueError(f"{key}: cannot read {path}: {err.strerror or err}") from None


def _check_pair(cert_file: Path, key_file: Path, prefix: str) -> None:
    cert = _read(cert_file, f"{prefix}.cert_file")
    key = _read(key_file, f"{prefix}.key_file")
    if b"-----BEGIN CERTIFICATE-----" not in cert:
        raise ValueError(f"{prefix}.cert_file: {cert_file} holds no PEM certificate")
    if b"PRIVATE KEY-----" not in key:
        raise ValueError(f"{prefix}.key_file: {key_file} holds no PEM private key")
    problem = _pair_problem(cert, key)
    if problem:
        raise ValueError(
            f"{prefix}.key_file: {key_file} does not fit {prefix}.cert_file {cert_file}: {problem}"
        )


def _check_ca(path: Path, key: str) -> None:
    data = _read(path, key)
    try:
        ssl.create_default_context(cadata=data.decode("ascii", errors="replace"))
    except (ssl.SSLError, ValueError) as err:
        raise ValueError(f"{key}: {path} holds no usable PEM CA certificate: {err}") from None


def _pair_problem(cert: bytes, key: bytes) -> str | None:
    """Why ``key`` is not the private key of ``cert`` (None if it is), using the stdlib's OpenSSL."""
    with tempfile.TemporaryDirectory(prefix="legato-tls-") as directory:
        cert_path, key_path = Path(directory, "cert.pem"), Path(directory, "key.pem")
        cert_path.write_bytes(cert)
        key_path.touch(mode=0o600)
        key_path.write_bytes(key)
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_path, key_path)
        except ssl.SSLError as err:
            return str(err.reason or err)
    return None


# ---------------------------------------------------------------- watched files


class _WatchedFiles:
    """The content of some files, re-read when a ``stat`` says they may have changed."""

    def __init__(
        self, paths: Sequence[Path], *, keys: Sequence[str], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._paths = tuple(Path(p) for p in paths)
        self._clock = clock
        self._checked_at = clock()
        self._stats = self._stat()
        self.contents = tuple(_read(path, key) for path, key in zip(self._paths, keys, strict=True))
        self._digest = _digest(self.contents)

    def _stat(self) -> tuple[tuple[int, int, int], ...] | None:
        try:
            return tuple(
                (stat.st_mtime_ns, stat.st_size, stat.st_ino) for stat in (os.stat(p) for p in self._paths)
            )
        except OSError:
            return None

    def changed(self) -> tuple[bytes, ...] | None:
        """New contents to consider (then ``accept`` them, or not), or None if nothing new since the last look.

        Contents not accepted (a key that does not fit its new certificate yet)
        are not offered again until a file changes once more.
        """
        now = self._clock()
        if now - self._checked_at < RELOAD_CHECK_INTERVAL_S:
            return None
        self._checked_at = now
        stats = self._stat()
        if stats is None or stats == self._stats:
            return None  # a file missing mid-rotation: keep what works, look again later
        try:
            contents = tuple(path.read_bytes() for path in self._paths)
        except OSError:
            return None
        self._stats = stats
        if _digest(contents) == self._digest:
            return None
        return contents

    def accept(self, contents: tuple[bytes, ...]) -> None:
        """``contents`` are in use now."""
        self.contents = contents
        self._digest = _digest(contents)


def _digest(contents: tuple[bytes, ...]) -> bytes:
    hasher = hashlib.sha256()
    for content in contents:
        hasher.update(len(content).to_bytes(8, "big"))
        hasher.update(content)
    return hasher.digest()


# ---------------------------------------------------------------- server side


class _ServerCertificates:
    """The port's certificates and client CAs as files; ``fetch`` is gRPC's reload hook."""

    def __init__(self, tls: ServerTLSConfig | None, internode_tls: InternodeTLSConfig | None) -> None:
        pairs: list[tuple[Path, str]] = []
        client_cas: list[tuple[Path, str]] = []
        if tls is not None:
            pairs += [(tls.cert_file, "tls.cert_file"), (tls.key_file, "tls.key_file")]
            if tls.client_ca_file is not None:
                client_cas.append((tls.client_ca_file, "tls.client_ca_file"))
        if internode_tls is not None:
            pairs += [
                (internode_tls.cert_file, "internode_tls.cert_file"),
                (internode_tls.key_file, "internode_tls.key_file"),
            ]
            client_cas.append((internode_tls.ca_file, "internode_tls.ca_file"))
        self._pair_count = len(pairs) // 2
        watched = pairs + client_cas
        self._files = _WatchedFiles([path for path, _ in watched], keys=[key for _, key in watched])
        self._lock = threading.Lock()
        self.require_client_certificate = internode_tls is not None or bool(
            tls is not None and tls.require_client_certificate
        )

    def configuration(self, contents: tuple[bytes, ...]) -> Any:
        pairs = [(contents[2 * i + 1], contents[2 * i]) for i in range(self._pair_count)]
        client_cas = contents[2 * self._pair_count :]
        return grpc.ssl_server_certificate_configuration(
            pairs, root_certificates=b"\n".join(client_cas) if client_cas else None
        )

    def initial(self) -> Any:
        return self.configuration(self._files.contents)

    def fetch(self) -> Any:
        """Called by gRPC before each handshake: a new configuration if the files changed, else None."""
        try:
            # Handshakes may run on several gRPC threads at once.
            with self._lock:
                contents = self._files.changed()
                if contents is None:
                    return None
                for i in range(self._pair_count):
                    problem = _pair_problem(contents[2 * i], contents[2 * i + 1])
                    if problem:
                        log.warning(
                            "new TLS key does not fit its certificate yet (%s); keeping the old one", problem
                        )
                        return None
                self._files.accept(contents)
            log.info("TLS certificate files changed; new connections use the new ones")
            return self.configuration(contents)
        except Exception:
            # An exception here would fail the handshake; the old certificates still work.
            log.exception("could not reload TLS certificates; keeping the old ones")
            return None


def server_credentials(
    tls: ServerTLSConfig | None, internode_tls: InternodeTLSConfig | None
) -> grpc.ServerCredentials | None:
    """Credentials for the port, reloading the files on change; None when neither is set (plaintext)."""
    if tls is None and internode_tls is None:
        return None
    validate(tls, internode_tls)
    certificates = _ServerCertificates(tls, internode_tls)
    return grpc.dynamic_ssl_server_credentials(
        certificates.initial(),
        certificates.fetch,
        require_client_authentication=certificates.require_client_certificate,
    )


def bind_port(
    server: grpc.aio.Server,
    address: str,
    *,
    tls: ServerTLSConfig | None,
    internode_tls: InternodeTLSConfig | None,
) -> int:
    """Add the process's one listening port to ``server``, TLS if configured; returns the port bound."""
    credentials = server_credentials(tls, internode_tls)
    if credentials is None:
        return server.add_insecure_port(address)
    return server.add_secure_port(address, credentials)


INTERNAL_METHOD_PREFIX = "/legato_server.internal."
"""Full method names of the roles' internal services (history, matching) start with this."""


def server_interceptors(
    tls: ServerTLSConfig | None, internode_tls: InternodeTLSConfig | None
) -> list[grpc.aio.ServerInterceptor]:
    """Interceptors for the server: the internode-only guard of the internal services, when needed.

    Needed when the port trusts a client CA besides the internode one; with
    internode TLS alone every client certificate is an internode one already.
    """
    if internode_tls is None or tls is None or tls.client_ca_file is None or not internode_tls.server_name:
        return []
    return [_InternalServicesForPeersOnly(internode_tls.server_name)]


class _InternalServicesForPeersOnly(grpc.aio.ServerInterceptor):
    """Refuses calls to the internal services whose client certificate does not name the internode service."""

    def __init__(self, server_name: str) -> None:
        self._name = server_name.encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = str(handler_call_details.method)
        if handler is None or handler.unary_unary is None or not method.startswith(INTERNAL_METHOD_PREFIX):
            return handler
        inner = handler.unary_unary
        name = self._name

        async def for_peers_only(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if name not in context.auth_context().get("x509_subject_alternative_name", []):
                await context.abort(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"{method} is internal: it takes only internode certificates (naming {name.decode()!r})",
                )
            result = inner(request, context)
            return await result if inspect.isawaitable(result) else result

        return grpc.unary_unary_rpc_method_handler(
            for_peers_only,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


# ---------------------------------------------------------------- client side


def open_channel(
    address: str,
    *,
    internode_tls: InternodeTLSConfig | None,
    options: Sequence[tuple[str, Any]] = (),
) -> grpc.aio.Channel:
    """A channel to the peer at ``address``: plaintext, or mutual TLS that follows certificate rotation."""
    if internode_tls is None:
        return grpc.aio.insecure_channel(address, options=list(options))
    return RotatingChannel(address, internode_tls=internode_tls, options=options)


class RotatingChannel(grpc.aio.Channel):
    """A mutual-TLS channel that reopens itself when the certificate files change.

    Stubs made on it keep working across a reopen: each call looks up the
    current channel (``unary_unary`` & co. return callables that resolve it per
    call).
    """

    def __init__(
        self, address: str, *, internode_tls: InternodeTLSConfig, options: Sequence[tuple[str, Any]] = ()
    ) -> None:
        self._address = address
        self._options = list(options)
        if internode_tls.server_name:
            self._options.append(("grpc.ssl_target_name_override", internode_tls.server_name))
        self._files = _WatchedFiles(
            [internode_tls.ca_file, internode_tls.cert_file, internode_tls.key_file],
            keys=["internode_tls.ca_file", "internode_tls.cert_file", "internode_tls.key_file"],
        )
        self._channel = self._open(self._files.contents)
        self._generation = 0
        self._retiring: dict[grpc.aio.Channel, asyncio.Future[None]] = {}

    def _open(self, contents: tuple[bytes, ...]) -> grpc.aio.Channel:
        ca, cert, key = contents
        credentials = grpc.ssl_channel_credentials(
            root_certificates=ca, private_key=key, certificate_chain=cert
        )
        return grpc.aio.secure_channel(self._address, credentials, options=self._options)

    def current(self) -> tuple[int, grpc.aio.Channel]:
        """The channel to use now (reopened first if the files changed) and its generation."""
        contents = self._files.changed()
        if contents is not None:
            problem = _pair_problem(contents[1], contents[2])
            if problem:
                log.warning(
                    "new internode key does not fit its certificate yet (%s); keeping the old one", problem
                )
            else:
                self._files.accept(contents)
                log.info("internode TLS files changed; reopening the channel to %s", self._address)
                old, self._channel = self._channel, self._open(contents)
                self._generation += 1
                self._retiring[old] = asyncio.ensure_future(self._retire(old))
        return self._generation, self._channel

    def _multicallable(self, kind: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        cache: dict[int, Any] = {}

        def resolve() -> Any:
            generation, channel = self.current()
            if generation not in cache:
                cache.clear()
                cache[generation] = getattr(channel, kind)(method, *args, **kwargs)
            return cache[generation]

        def call(*call_args: Any, **call_kwargs: Any) -> Any:
            return resolve()(*call_args, **call_kwargs)

        return call

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._multicallable("unary_unary", method, args, kwargs)

    def unary_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._multicallable("unary_stream", method, args, kwargs)

    def stream_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._multicallable("stream_unary", method, args, kwargs)

    def stream_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._multicallable("stream_stream", method, args, kwargs)

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self._channel.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self._channel.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self._channel.channel_ready()

    async def _retire(self, old: grpc.aio.Channel) -> None:
        try:
            await old.close(OLD_CHANNEL_GRACE_S)
        finally:
            self._retiring.pop(old, None)

    async def close(self, grace: float | None = None) -> None:
        for old, closing in list(self._retiring.items()):
            closing.cancel()
            await old.close(grace)
        await self._channel.close(grace)

    async def __aenter__(self) -> RotatingChannel:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
