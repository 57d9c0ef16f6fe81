"""``legato-server schema setup|update|version|drop --db mysql|cassandra ...``.

``add_parser(subparsers)`` plugs the ``schema`` command into the server's CLI
(``legato_server.cli``); ``main(argv)`` runs it on its own
(``python -m legato_server.schema_cli ...``), which is what the Kubernetes
schema Job and the tests use. The password is read from ``--password`` or,
better (it does not show in ``ps``), from ``LEGATO_DB_PASSWORD``.

Exit codes: 0 done, 1 the operation failed (message on stderr), 2 bad usage.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from legato_server.persistence.config import CassandraConfig, MySQLConfig
from legato_server.schema_tool import DATABASES, SchemaToolError, run

COMMANDS = {
    "setup": "create the database/keyspace and its base schema version (no-op if it has one)",
    "update": "apply every pending schema version in order (no-op when up to date)",
    "version": "print the database's schema version and the newest one this Legato ships",
    "drop": "delete the database/keyspace and every workflow in it (needs --yes)",
}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``schema`` to a CLI's subcommands; the parsed args carry ``run(args) -> exit code``."""
    parser = subparsers.add_parser(
        "schema",
        help="set up, update or inspect the MySQL/Cassandra schema",
        description="Manage the versioned schema of a MySQL/MariaDB database or a Cassandra keyspace.",
    )
    actions = parser.add_subparsers(
        dest="schema_command", metavar="{setup,update,version,drop}", required=True
    )
    for name, help_text in COMMANDS.items():
        action = actions.add_parser(name, help=help_text, description=help_text)
        _add_connection_flags(action, with_target=name in ("setup", "update"))
        if name == "drop":
            action.add_argument("--yes", action="store_true", help="confirm: the data cannot be recovered")
        action.set_defaults(run=run_from_args)
    return parser


def _add_connection_flags(parser: argparse.ArgumentParser, *, with_target: bool) -> None:
    parser.add_argument("--db", required=True, choices=DATABASES, help="database kind")
    parser.add_argument(
        "--host", default=None, help="host (Cassandra: comma-separated contact points); default 127.0.0.1"
    )
    parser.add_argument(
        "--port", type=int, default=None, help="port; default 3306 (mysql) or 9042 (cassandra)"
    )
    parser.add_argument("--user", default=None, help="user; default legato (mysql), none (cassandra)")
    parser.add_argument(
        "--password", default=None, help="password; prefer the LEGATO_DB_PASSWORD environment variable"
    )
    parser.add_argument("--database", default=None, help="MySQL database name (default legato)")
    parser.add_argument("--keyspace", default=None, help="Cassandra keyspace name (default legato)")
    parser.add_argument(
        "--replication-factor",
        type=int,
        default=None,
        help="Cassandra: SimpleStrategy replication factor (setup)",
    )
    parser.add_argument("--datacenter", default=None, help="Cassandra: local datacenter name")
    parser.add_argument(
        "--tls-ca",
        default=None,
        help="connect over TLS, trusting this CA file (the server config's persistence tls_ca)",
    )
    parser.add_argument("--schema-dir", type=Path, default=None, help=argparse.SUPPRESS)
    if with_target:
        parser.add_argument(
            "--target-version", default=None, help="stop at this version instead of the newest shipped one"
        )


def config_from_args(args: argparse.Namespace) -> MySQLConfig | CassandraConfig:
    if args.db == "mysql":
        mysql = MySQLConfig()
        if args.host:
            mysql.host = args.host
        if args.port:
            mysql.port = args.port
        if args.user:
            mysql.user = args.user
        if args.database:
            mysql.database = args.database
        if args.password is not None and not os.environ.get("LEGATO_DB_PASSWORD"):
            mysql.password = args.password
        if args.tls_ca:
            mysql.tls_ca = args.tls_ca
        return mysql
    cassandra = CassandraConfig()
    if args.host:
        cassandra.hosts = [h.strip() for h in args.host.split(",") if h.strip()]
    if args.port:
        cassandra.port = args.port
    if args.user:
        cassandra.user = args.user
    if args.keyspace or args.database:
        cassandra.keyspace = args.keyspace or args.database
    if args.replication_factor:
        cassandra.replication_factor = args.replication_factor
    if args.datacenter:
        cassandra.datacenter = args.datacenter
    if args.password is not None and not os.environ.get("LEGATO_DB_PASSWORD"):
        cassandra.password = args.password
    if args.tls_ca:
        cassandra.tls_ca = args.tls_ca
    return cassandra


def run_from_args(args: argparse.Namespace) -> int:
    try:
        message = run(
            args.schema_command,
            args.db,
            config_from_args(args),
            target_version=getattr(args, "target_version", None),
            schema_root=args.schema_dir,
            confirmed=getattr(args, "yes", False),
        )
    except SchemaToolError as error:
        print(f"legato-server schema {args.schema_command}: {error}", file=sys.stderr)
        return 1
    print(message)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(prog="legato-server")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
