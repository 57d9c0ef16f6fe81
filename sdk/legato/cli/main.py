"""Entry point of ``legato``: build the parser, run one command, turn errors into exit codes.

Every command is a leaf parser carrying ``handler(args, context) -> exit code``
(see ``arguments.CommandGroup``). Errors end here, each as one line on stderr:
``CliError`` as ``legato: error: <message>``, ``UsageError`` the way argparse
reports bad input (usage line, exit code 2). Exit codes are listed in
``errors.py``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from collections.abc import Sequence

from legato.cli import activity, namespace, schedule, workflow
from legato.cli.arguments import (
    Context,
    connection_options,
    resolve_address,
    resolve_namespace,
    resolve_tls,
)
from legato.cli.connection import Connection
from legato.cli.errors import CliError, UsageError

_EPILOG = """\
exit codes: 0 success, 1 error (including one reported by the server),
2 bad command-line input, 3 the awaited workflow failed, was canceled,
terminated or timed out.

durations are written like 10s, 5m, 72h, 1d, 1h30m.
"""


def _version() -> str:
    try:
        return importlib.metadata.version("legato")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="legato",
        description="Manage Legato namespaces, workflows and schedules.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[connection_options(with_namespace=True)],
    )
    parser.add_argument("--version", action="version", version=f"legato {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    namespace.register(commands, parents=[connection_options(with_namespace=False)])
    workflow.register(commands, parents=[connection_options(with_namespace=True)])
    activity.register(commands, parents=[connection_options(with_namespace=True)])
    schedule.register(commands, parents=[connection_options(with_namespace=True)])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or argparse's own usage error
        return exit_.code if isinstance(exit_.code, int) else 0
    try:
        tls = resolve_tls(args)
    except UsageError as error:
        return _report_usage(args, error)
    context = Context(
        connection=Connection(resolve_address(args), tls=tls), namespace=resolve_namespace(args)
    )
    try:
        return int(args.handler(args, context))
    except UsageError as error:
        return _report_usage(args, error)
    except CliError as error:
        print(f"legato: error: {error.message}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) left; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        context.connection.close()


def _report_usage(args: argparse.Namespace, error: UsageError) -> int:
    """Report ``error`` the way argparse reports its own (usage line, exit code 2)."""
    try:
        args.command_parser.error(error.message)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else error.exit_code
    return error.exit_code  # pragma: no cover - error() always exits


if __name__ == "__main__":
    sys.exit(main())
