"""Open the configured store. Drivers are imported only for the store in use."""

from __future__ import annotations

from legato_server.persistence.config import PersistenceConfig
from legato_server.persistence.interface import Persistence

KINDS = ("sqlite", "mysql", "cassandra")


async def create_persistence(config: PersistenceConfig) -> Persistence:
    """Connect to the store ``config.kind`` names; raises ValueError for an unknown kind."""
    if config.kind == "sqlite":
        from legato_server.persistence.sqlite import open_sqlite_persistence

        return await open_sqlite_persistence(config.sqlite)
    if config.kind == "mysql":
        from legato_server.persistence.mysql import open_mysql_persistence

        return await open_mysql_persistence(config.mysql)
    if config.kind == "cassandra":
        from legato_server.persistence.cassandra import open_cassandra_persistence

        return await open_cassandra_persistence(config.cassandra)
    raise ValueError(f"unknown persistence kind {config.kind!r}; expected one of {', '.join(KINDS)}")
