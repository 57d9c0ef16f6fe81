"""How ``legato-server schema`` flags become a store config (pure: no database is reached)."""

from __future__ import annotations

import argparse

import pytest

from legato_server import schema_cli
from legato_server.persistence.config import CassandraConfig, MySQLConfig


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="legato-server")
    schema_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["schema", "setup", *argv])


@pytest.mark.parametrize("db", ["mysql", "cassandra"])
def test_tls_ca_reaches_the_store_config(db: str) -> None:
    config = schema_cli.config_from_args(parse("--db", db, "--host", "db.example", "--tls-ca", "/ca/ca.crt"))
    assert isinstance(config, MySQLConfig if db == "mysql" else CassandraConfig)
    assert config.tls_ca == "/ca/ca.crt"
    assert schema_cli.config_from_args(parse("--db", db)).tls_ca is None


def test_cassandra_flags() -> None:
    config = schema_cli.config_from_args(
        parse("--db", "cassandra", "--host", "c1, c2", "--keyspace", "wf", "--replication-factor", "3",
              "--datacenter", "dc1", "--user", "app")
    )  # fmt: skip
    assert isinstance(config, CassandraConfig)
    assert (config.hosts, config.keyspace, config.replication_factor, config.datacenter, config.user) == (
        ["c1", "c2"], "wf", 3, "dc1", "app",
    )  # fmt: skip
