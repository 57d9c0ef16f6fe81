"""May this server use that database? The schema-version check every store runs at open.

It sits below persistence (it knows only the versioned schema data of this
package), so the MySQL and Cassandra stores import it directly, and the schema
tool above persistence uses the same advice in its messages.

A server that knows schema versions up to N may open a database at version V
only if V is at least N's ``min_compatible_version`` (else: run ``schema
update``) and V's own ``min_compatible_version`` is not newer than N (else: the
database was written by a newer Legato; upgrade Legato). A database with no
schema at all gets the setup-then-update commands.
"""

from __future__ import annotations

from pathlib import Path

from legato_server.schema import DEFAULT_KEYSPACE, SCHEMA_ROOT, SchemaVersion, list_versions, parse_version


class IncompatibleSchemaError(Exception):
    """The database's schema version does not fit this server (raised when a store opens).

    The message names the database and the command (or upgrade) that fixes it.
    """


def shipped_versions(db: str, *, schema_root: Path | None = None) -> list[SchemaVersion]:
    """The versions of ``db``'s schema this code ships, oldest first (``schema_root`` replaces them in tests)."""
    return list_versions(db, DEFAULT_KEYSPACE, root=schema_root or SCHEMA_ROOT)


def update_command(db: str, *, connection_args: str) -> str:
    return f"legato-server schema update --db {db} {connection_args}".rstrip()


def setup_command(db: str, *, connection_args: str) -> str:
    """Create the schema, then bring it to the newest version."""
    setup = f"legato-server schema setup --db {db} {connection_args}".rstrip()
    return f"{setup} && {update_command(db, connection_args=connection_args)}"


def check_compatible(
    *,
    db: str,
    location: str,
    current: tuple[str, str] | None,
    known: list[SchemaVersion],
    connection_args: str,
) -> str:
    """Raise IncompatibleSchemaError unless a server knowing ``known`` may use this database.

    ``current`` is the database's ``(version, min_compatible_version)``.
    Returns the database's version.
    """
    newest = known[-1]
    if current is None:
        raise IncompatibleSchemaError(
            f"{db} {location} has no Legato schema; this server needs version "
            f"{newest.min_compatible_version} or newer (newest {newest.version}). Create it with: "
            + setup_command(db, connection_args=connection_args)
        )
    version, min_compatible = current
    if parse_version(version) < parse_version(newest.min_compatible_version):
        raise IncompatibleSchemaError(
            f"{db} {location} is at schema version {version}, but this server needs at least "
            f"{newest.min_compatible_version} (newest {newest.version}). Update the schema with: "
            + update_command(db, connection_args=connection_args)
        )
    if parse_version(min_compatible) > newest.key:
        raise IncompatibleSchemaError(
            f"{db} {location} is at schema version {version}, which needs a Legato that knows schema "
            f"{min_compatible} or newer; this server knows up to {newest.version}. Upgrade Legato."
        )
    return version


__all__ = [
    "IncompatibleSchemaError",
    "check_compatible",
    "setup_command",
    "shipped_versions",
    "update_command",
]
