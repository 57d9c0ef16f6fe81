"""Argument types and shared options, so every flag of a kind is parsed one way.

The ``*_arg`` functions are argparse ``type=`` callables: they raise
``argparse.ArgumentTypeError``, which argparse turns into
``legato ...: error: argument --input: <message>`` and exit code 2 — the flag is
named for free. Values that need the server (an unknown namespace) are not
checked here.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from legato._service import TLSConfig
from legato.api.v1 import common_pb2
from legato.cli.connection import DEFAULT_ADDRESS, DEFAULT_NAMESPACE, Connection
from legato.cli.durations import DurationError, parse_duration
from legato.cli.errors import UsageError

ADDRESS_ENV = "LEGATO_ADDRESS"
NAMESPACE_ENV = "LEGATO_NAMESPACE"
TLS_ENV = "LEGATO_TLS"
TLS_CA_ENV = "LEGATO_TLS_CA"
TLS_CERT_ENV = "LEGATO_TLS_CERT"
TLS_KEY_ENV = "LEGATO_TLS_KEY"
TLS_SERVER_NAME_ENV = "LEGATO_TLS_SERVER_NAME"


@dataclass
class Context:
    """What a command handler works with besides its own arguments."""

    connection: Connection
    namespace: str


Handler = Callable[[argparse.Namespace, Context], int]


class CommandGroup:
    """``legato <group> <command>``: leaf commands that share the connection options.

    Each leaf carries its ``handler`` and its own parser (``command_parser``), so
    ``main`` can call the one and report a ``UsageError`` through the other.
    """

    def __init__(
        self,
        root: argparse._SubParsersAction,
        name: str,
        *,
        help: str,
        parents: list[argparse.ArgumentParser],
    ) -> None:
        group = root.add_parser(name, help=help, description=_sentence(help))
        self._commands = group.add_subparsers(dest=f"{name}_command", metavar="COMMAND", required=True)
        self._parents = parents

    def add(self, name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
        parser = self._commands.add_parser(
            name, parents=self._parents, help=help, description=_sentence(help)
        )
        parser.set_defaults(handler=handler, command_parser=parser)
        return parser


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def duration_arg(text: str) -> Any:
    try:
        return parse_duration(text)
    except DurationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def json_arg(text: str) -> Any:
    """A JSON value; the usual mistake (an unquoted string) gets its own hint."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        hint = ""
        if text.strip()[:1].isalpha():
            hint = f"; a JSON string needs quotes, e.g. '{json.dumps(text)}'"
        raise argparse.ArgumentTypeError(f"invalid JSON {text!r}: {error.msg}{hint}") from None


def key_json_arg(text: str) -> tuple[str, Any]:
    """``key=JSON``, e.g. ``owner="ops"`` or ``limits={"cpu": 2}``."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=JSON, got {text!r}")
    return key, json_arg(raw)


def key_value_arg(text: str) -> tuple[str, str]:
    """``key=value`` with a plain string value."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key, value


def positive_int_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def connection_options(*, with_namespace: bool) -> argparse.ArgumentParser:
    """``--address`` (and ``--namespace``), accepted before or after the subcommand.

    Defaults are suppressed so that a value given on the top-level parser is not
    overwritten by the subcommand's default; ``resolve_*`` supply env and defaults.
    """
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection")
    group.add_argument(
        "--address",
        default=argparse.SUPPRESS,
        help=f"frontend host:port (env {ADDRESS_ENV}, default {DEFAULT_ADDRESS})",
    )
    if with_namespace:
        group.add_argument(
            "-n",
            "--namespace",
            default=argparse.SUPPRESS,
            help=f"namespace (env {NAMESPACE_ENV}, default {DEFAULT_NAMESPACE!r})",
        )
    group.add_argument(
        "--tls",
        action="store_true",
        default=argparse.SUPPRESS,
        help=f"connect with TLS, trusting the system CAs (env {TLS_ENV}=1); implied by the --tls-* flags",
    )
    for flag, env, what in (
        ("--tls-ca", TLS_CA_ENV, "PEM file of the CA that signs the server's certificate"),
        ("--tls-cert", TLS_CERT_ENV, "PEM client certificate, for servers that require one"),
        ("--tls-key", TLS_KEY_ENV, "PEM private key of --tls-cert"),
        ("--tls-server-name", TLS_SERVER_NAME_ENV, "name to verify in the server's certificate"),
    ):
        metavar = "NAME" if flag == "--tls-server-name" else "FILE"
        group.add_argument(flag, default=argparse.SUPPRESS, metavar=metavar, help=f"{what} (env {env})")
    return parent


def resolve_address(args: argparse.Namespace) -> str:
    return getattr(args, "address", None) or os.environ.get(ADDRESS_ENV) or DEFAULT_ADDRESS


def resolve_tls(args: argparse.Namespace) -> TLSConfig | None:
    """TLS settings from the flags, else the environment; None = plaintext."""

    def value(name: str, env: str) -> str | None:
        return getattr(args, name, None) or os.environ.get(env) or None

    ca, cert, key = (
        value("tls_ca", TLS_CA_ENV),
        value("tls_cert", TLS_CERT_ENV),
        value("tls_key", TLS_KEY_ENV),
    )
    server_name = value("tls_server_name", TLS_SERVER_NAME_ENV)
    enabled = getattr(args, "tls", False) or os.environ.get(TLS_ENV, "").lower() in ("1", "true", "yes")
    if not (enabled or ca or cert or key or server_name):
        return None
    if (cert is None) != (key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    try:
        return TLSConfig.from_files(ca_file=ca, cert_file=cert, key_file=key, domain=server_name)
    except ValueError as error:
        raise UsageError(str(error)) from None


def resolve_namespace(args: argparse.Namespace) -> str:
    return getattr(args, "namespace", None) or os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE


def add_execution_options(parser: argparse.ArgumentParser) -> None:
    """``--id`` and ``--run-id``: which run a command is about."""
    parser.add_argument("--id", required=True, dest="workflow_id", metavar="ID", help="workflow id")
    parser.add_argument("--run-id", default="", help="a specific run (default: the latest run)")


def execution_from(args: argparse.Namespace) -> common_pb2.WorkflowExecution:
    return common_pb2.WorkflowExecution(workflow_id=args.workflow_id, run_id=args.run_id)


def add_output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", choices=("table", "json"), default="table", help="output format (default: table)"
    )
