"""``legato-server``: run the server.

Subcommands:

* ``start-dev``: every role in one process on an embedded SQLite file (or in
  memory), with the ``default`` namespace. Zero setup.
* ``start --config FILE.yaml [--services frontend,history,matching]``: what
  production runs; the file's format is ``server.server_config_from_mapping``.

Adding a subcommand (e.g. ``legato-server schema ...``): write a module with
``add_parser(subparsers) -> None`` that adds its parser and sets
``parser.set_defaults(run=fn)``, where ``fn(args: argparse.Namespace) -> int``
returns the exit code; then list the module in ``SUBCOMMAND_MODULES``. A listed
module that is not importable is skipped, so the hook can be registered before
the module lands.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from legato_server.common.log_format import configure_logging
from legato_server.common.logs import quiet_third_party_loggers

log = logging.getLogger("legato_server")

SUBCOMMAND_MODULES: tuple[str, ...] = ("legato_server.schema_cli",)
"""Modules exposing ``add_parser(subparsers)``, added after the built-in subcommands."""

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")


def default_dev_db_path() -> Path:
    """$XDG_DATA_HOME/legato/dev.db, else ~/.local/share/legato/dev.db."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "legato" / "dev.db"


# ---------------------------------------------------------------- start-dev


def add_start_dev_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "start-dev",
        help="run every role in one process on SQLite, with the default namespace",
        description="Run a single-process Legato server for development: all roles, SQLite, "
        "and the 'default' namespace.",
    )
    parser.add_argument("--ip", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7233, help="gRPC port (default 7233)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db-file", type=Path, help=f"SQLite file (default {default_dev_db_path()})")
    where.add_argument("--in-memory", action="store_true", help="keep everything in memory; lost at exit")
    parser.add_argument(
        "--namespace",
        action="append",
        default=[],
        metavar="NAME",
        help="also create this namespace if missing (repeatable)",
    )
    parser.add_argument(
        "--num-history-shards", type=int, default=4, help="shards of a new database (default 4)"
    )
    parser.add_argument(
        "--task-queue-partitions",
        type=int,
        default=1,
        metavar="N",
        # One process is one matching host: partitions could not spread, and each would
        # cost a lease, a backlog reader and a forwarding hop on the one SQLite writer.
        help="partitions per normal task queue (default 1 here; `start` defaults to 4)",
    )
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    _add_observability_arguments(parser)
    parser.add_argument(
        "--time-skipping",
        action="store_true",
        help="for tests: jump to the next timer whenever nothing else can happen "
        "(see legato.testing.WorkflowEnvironment.start_time_skipping)",
    )
    parser.set_defaults(run=run_start_dev)


def run_start_dev(args: argparse.Namespace) -> int:
    from legato_server.namespace import validate_namespace_name
    from legato_server.persistence.config import PersistenceConfig, SQLiteConfig
    from legato_server.server import ServerConfig

    namespaces = ["default", *(n for n in args.namespace if n != "default")]
    for name in namespaces:
        try:
            validate_namespace_name(name)
        except Exception as err:
            return _fail(f"--namespace {name!r}: {err}")
    if args.in_memory:
        db_path, where = None, "in memory"
    else:
        db_path = (args.db_file or default_dev_db_path()).expanduser().resolve()
        db_path.parent.mkdir(parents=True, exist_ok=True)
        where = str(db_path)
    from legato_server.common.metrics import MetricsConfig

    metrics_port = args.metrics_port
    if metrics_port is None and os.environ.get("LEGATO_METRICS_PORT"):
        metrics_port = _port_from_environment("LEGATO_METRICS_PORT")
        if metrics_port is None:
            return 1
    try:  # the OTEL_* variables (tracing) are read here too
        config = ServerConfig(
            host=args.ip,
            port=args.port,
            persistence=PersistenceConfig(kind="sqlite", sqlite=SQLiteConfig(path=db_path)),
            num_history_shards=args.num_history_shards,
            task_queue_partitions=args.task_queue_partitions,
            namespaces=tuple(namespaces),
            time_skipping=args.time_skipping,
            metrics=None if metrics_port is None else MetricsConfig(port=metrics_port, host=args.ip),
        )
    except ValueError as err:
        return _fail(str(err))
    return _serve(
        config, banner=lambda address: f"Legato dev server listening on {address} (SQLite: {where})"
    )


# ---------------------------------------------------------------- start


def add_start_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "start", help="run the roles a config file describes", description="Run Legato server roles."
    )
    parser.add_argument("--config", type=Path, required=True, help="YAML config file")
    parser.add_argument("--services", help="comma-separated roles to run (overrides the file)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    _add_observability_arguments(parser)
    parser.set_defaults(run=run_start)


def run_start(args: argparse.Namespace) -> int:
    import yaml

    from legato_server.server import apply_environment, server_config_from_mapping

    try:
        data = yaml.safe_load(args.config.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        return _fail(f"cannot read config {args.config}: {err}")
    if not isinstance(data, dict):
        return _fail(f"config {args.config}: expected a mapping at the top level")
    data = apply_environment(data, os.environ)
    if args.services:
        data["services"] = args.services
    if args.metrics_port is not None:
        data["metrics"] = {**(data.get("metrics") or {}), "port": args.metrics_port}
    try:
        config = server_config_from_mapping(data)
    except ValueError as err:
        return _fail(f"config {args.config}: {err}")
    if args.log_format is None and not os.environ.get("LEGATO_LOG_FORMAT"):
        # Only the file chose: apply it now that the file is read.
        configure_logging(level=args.log_level, log_format=config.log_format)
        quiet_third_party_loggers()
    return _serve(
        config,
        banner=lambda address: (
            f"Legato server listening on {address} ({', '.join(config.services)}; {config.persistence.kind})"
        ),
    )


def _add_observability_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="text (default) or json: one object per line with namespace, workflow_id, run_id "
        "and trace_id where known (env LEGATO_LOG_FORMAT; start: also the config's log.format)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus /metrics on this port (0 = any free port; default off; "
        "env LEGATO_METRICS_PORT; start: also the config's metrics.port)",
    )


def _port_from_environment(variable: str) -> int | None:
    value = os.environ.get(variable, "")
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        _fail(f"{variable}={value!r}: expected a port number 0-65535 (0 = any free port)")
        return None
    return port


def _log_format(args: argparse.Namespace) -> str:
    """--log-format, else LEGATO_LOG_FORMAT, else text (``start`` may still apply its file's choice)."""
    chosen = getattr(args, "log_format", None) or os.environ.get("LEGATO_LOG_FORMAT") or "text"
    if chosen not in LOG_FORMATS:
        raise SystemExit(_fail(f"LEGATO_LOG_FORMAT={chosen!r}: expected one of {', '.join(LOG_FORMATS)}"))
    return str(chosen)


# ---------------------------------------------------------------- running


def _serve(config: Any, *, banner: Callable[[str], str]) -> int:
    from legato_server.server import start_server

    async def main() -> int:
        try:
            server = await start_server(config)
        except Exception as err:
            log.debug("start failed", exc_info=True)
            return _fail(f"could not start: {err}")
        log.info("%s", banner(server.address))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("stopping")
        await server.stop()
        log.info("stopped")
        return 0

    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    return uvloop.run(main())


def _fail(message: str) -> int:
    print(f"legato-server: error: {message}", file=sys.stderr)
    return 1


# ---------------------------------------------------------------- entry point

BUILTIN_SUBCOMMANDS: tuple[Callable[[Any], None], ...] = (add_start_dev_parser, add_start_parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="legato-server", description="The Legato workflow server.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for add in BUILTIN_SUBCOMMANDS:
        add(subparsers)
    for module_name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(level=str(getattr(args, "log_level", "info")), log_format=_log_format(args))
    quiet_third_party_loggers()
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
