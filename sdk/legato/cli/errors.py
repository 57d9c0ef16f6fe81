"""The errors a command raises to end the CLI with a message and an exit code.

``main`` catches ``CliError`` and prints ``legato: error: <message>`` on stderr;
nothing else is printed, so every message must stand on its own and say what to
do. Exit codes: 0 success, 1 an error (server said no, unreachable, timed out
waiting), 2 bad command-line input (argparse's convention), 3 the workflow we
waited on closed without completing (failed, canceled, terminated, timed out).
"""

from __future__ import annotations

import grpc

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_WORKFLOW_NOT_COMPLETED = 3


class CliError(Exception):
    """Ends the command: ``message`` goes to stderr, ``exit_code`` to the shell."""

    def __init__(self, message: str, *, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class UsageError(CliError):
    """Bad command-line input found after parsing; reported the way argparse reports its own."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=EXIT_USAGE)


class RpcFailure(CliError):
    """The frontend answered a call with a non-OK status."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}" if details else code.name)
        self.code = code
        self.details = details


class ServerUnreachable(CliError):
    """No connection to the frontend could be made at all."""

    def __init__(self, address: str, *, hint: str | None = None) -> None:
        super().__init__(
            f"cannot reach the Legato frontend at {address} ({hint or 'is `legato-server start-dev` running?'})"
        )
        self.address = address


class TLSFailure(CliError):
    """The TLS handshake with the frontend failed: a CA, name or certificate to fix, not a server to start."""

    def __init__(self, address: str, hint: str) -> None:
        super().__init__(
            f"TLS handshake with {address} failed: {hint} (--tls-ca, --tls-server-name, --tls-cert/--tls-key)"
        )
        self.address = address
