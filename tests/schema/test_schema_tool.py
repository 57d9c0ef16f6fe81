"""The schema tool against real MariaDB and Cassandra: setup, update, version, refusal at open.

Each test gets its own empty database/keyspace (``conftest``). The shipped
schema has versions 1.0 and 1.1 for both databases; the refusal tests copy it
into a temporary schema root and add a version whose minimum compatible
version is newer than what the database has, which is what a server upgrade
that needs a schema update looks like.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from legato_server import cli, schema_tool
from legato_server.persistence.config import CassandraConfig, MySQLConfig, PersistenceConfig
from legato_server.persistence.factory import create_persistence
from legato_server.schema import SCHEMA_ROOT, list_versions
from legato_server.schema.compat import IncompatibleSchemaError

DBConfig = MySQLConfig | CassandraConfig


def latest(db: str) -> str:
    return list_versions(db)[-1].version


def base(db: str) -> str:
    return list_versions(db)[0].version


def backend_status(db: str, config: DBConfig, *, schema_root: Path | None = None) -> schema_tool.SchemaStatus:
    known = schema_tool.known_versions(db, schema_root=schema_root)
    backend = schema_tool.open_backend(db, config, schema_root=schema_root)
    try:
        return schema_tool.status(backend, known=known)
    finally:
        backend.close()


def connection_flags(db: str, config: DBConfig) -> list[str]:
    if isinstance(config, MySQLConfig):
        return [
            "--db",
            db,
            "--host",
            config.host,
            "--port",
            str(config.port),
            "--user",
            config.user,
            "--password",
            config.password,
            "--database",
            config.database,
        ]
    return [
        "--db",
        db,
        "--host",
        ",".join(config.hosts),
        "--port",
        str(config.port),
        "--keyspace",
        config.keyspace,
    ]


async def open_store(db: str, config: DBConfig, *, schema_root: Path | None = None):
    if db == "mysql":
        from legato_server.persistence.mysql import open_mysql_persistence

        return await open_mysql_persistence(config, schema_root=schema_root)
    from legato_server.persistence.cassandra import open_cassandra_persistence

    return await open_cassandra_persistence(config, schema_root=schema_root)


def schema_root_needing_newer(db: str, tmp_path: Path) -> tuple[Path, str, str]:
    """A copy of the shipped schema plus a version whose min compatible is newer than the base.

    Returns (root, new version, its min_compatible_version).
    """
    root = tmp_path / "schema"
    shutil.copytree(SCHEMA_ROOT / db, root / db)
    newest = list_versions(db)[-1]
    major, minor = newest.key[0], newest.key[1]
    version, min_compatible = f"{major}.{minor + 1}", newest.version
    directory = root / db / "legato" / "versioned" / f"v{version}"
    directory.mkdir()
    if db == "mysql":
        (directory / "change.sql").write_text(
            "CREATE TABLE IF NOT EXISTS schema_test_marker (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB;\n"
        )
    else:
        (directory / "change.cql").write_text(
            "CREATE TABLE IF NOT EXISTS schema_test_marker (id int PRIMARY KEY);\n"
        )
    manifest = {
        "version": version,
        "min_compatible_version": min_compatible,
        "description": "test-only version that older databases must be updated to",
        "files": ["change.sql" if db == "mysql" else "change.cql"],
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return root, version, min_compatible


def test_shipped_schemas_have_an_update_to_apply() -> None:
    for db in schema_tool.DATABASES:
        versions = list_versions(db)
        assert len(versions) >= 2, f"{db}: update needs something to apply"
        assert versions[-1].min_compatible_version == versions[0].version


def test_setup_on_an_empty_database_applies_the_base_version(db: str, db_config: DBConfig) -> None:
    message = schema_tool.run("setup", db, db_config)

    assert f"set up at version {base(db)}" in message
    status = backend_status(db, db_config)
    assert status.version == base(db)
    assert status.applied == (base(db),)


def test_setup_twice_changes_nothing(db: str, db_config: DBConfig) -> None:
    schema_tool.run("setup", db, db_config)
    schema_tool.run("setup", db, db_config)

    assert backend_status(db, db_config).applied == (base(db),)


def test_update_applies_every_pending_version_in_order(db: str, db_config: DBConfig) -> None:
    schema_tool.run("setup", db, db_config)

    message = schema_tool.run("update", db, db_config)

    pending = [v.version for v in list_versions(db)[1:]]
    assert f"applied {', '.join(pending)}" in message
    status = backend_status(db, db_config)
    assert status.version == latest(db)
    assert status.applied == (base(db), *pending)


def test_update_again_is_a_no_op(db: str, db_config: DBConfig) -> None:
    schema_tool.run("setup", db, db_config)
    schema_tool.run("update", db, db_config)
    before = backend_status(db, db_config)

    message = schema_tool.run("update", db, db_config)

    assert "nothing to do" in message
    assert backend_status(db, db_config) == before


def test_update_without_setup_says_to_run_setup(db: str, db_config: DBConfig) -> None:
    with pytest.raises(schema_tool.SchemaToolError, match="schema setup"):
        schema_tool.run("update", db, db_config)


def test_update_stops_at_the_target_version(db: str, db_config: DBConfig, tmp_path: Path) -> None:
    root, newer, _ = schema_root_needing_newer(db, tmp_path)
    schema_tool.run("setup", db, db_config, schema_root=root)

    schema_tool.run("update", db, db_config, schema_root=root, target_version=latest(db))

    assert backend_status(db, db_config, schema_root=root).version == latest(db)
    schema_tool.run("update", db, db_config, schema_root=root)
    assert backend_status(db, db_config, schema_root=root).version == newer


def test_cli_setup_update_version(db: str, db_config: DBConfig, capsys: pytest.CaptureFixture[str]) -> None:
    flags = connection_flags(db, db_config)

    assert cli.main(["schema", "setup", *flags]) == 0
    assert cli.main(["schema", "version", *flags]) == 0
    assert f"schema version {base(db)}" in capsys.readouterr().out
    assert cli.main(["schema", "update", *flags]) == 0
    capsys.readouterr()
    assert cli.main(["schema", "version", *flags]) == 0

    out = capsys.readouterr().out
    assert f"schema version {latest(db)}" in out
    assert "up to date" in out


def _exists(db: str, config: DBConfig) -> bool:
    backend = schema_tool.open_backend(db, config)
    try:
        return backend.exists()
    finally:
        backend.close()


def test_cli_drop_needs_yes_then_removes_the_database(
    db: str, db_config: DBConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = connection_flags(db, db_config)
    assert cli.main(["schema", "setup", *flags]) == 0
    capsys.readouterr()

    assert cli.main(["schema", "drop", *flags]) == 1
    assert "pass --yes to confirm" in capsys.readouterr().err
    assert _exists(db, db_config)

    assert cli.main(["schema", "drop", "--yes", *flags]) == 0
    assert "dropped" in capsys.readouterr().out
    assert not _exists(db, db_config)

    assert cli.main(["schema", "drop", "--yes", *flags]) == 0
    assert "does not exist; nothing to drop" in capsys.readouterr().out


def test_cli_version_of_a_database_without_schema(
    db: str, db_config: DBConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["schema", "version", *connection_flags(db, db_config)]) == 0

    assert "no Legato schema" in capsys.readouterr().out


async def test_store_opens_a_database_at_the_newest_schema(db: str, db_config: DBConfig) -> None:
    schema_tool.run("setup", db, db_config)
    schema_tool.run("update", db, db_config)

    store = await create_persistence(PersistenceConfig(kind=db, **{db: db_config}))
    try:
        shard = await store.shards.get_or_create_shard(1)
        assert shard.range_id == 0
    finally:
        await store.close()


async def test_store_opens_an_older_schema_that_is_still_compatible(db: str, db_config: DBConfig) -> None:
    # The shipped 1.1 keeps 1.0 compatible: a server upgraded before its schema still starts.
    schema_tool.run("setup", db, db_config)

    store = await open_store(db, db_config)
    await store.close()


async def test_store_refuses_a_schema_older_than_its_minimum(
    db: str, db_config: DBConfig, tmp_path: Path
) -> None:
    root, _, needed = schema_root_needing_newer(db, tmp_path)
    schema_tool.run("setup", db, db_config)  # the shipped base version only

    with pytest.raises(IncompatibleSchemaError) as refused:
        await open_store(db, db_config, schema_root=root)

    message = str(refused.value)
    assert f"schema version {base(db)}" in message
    assert f"at least {needed}" in message
    assert f"legato-server schema update --db {db}" in message

    schema_tool.run("update", db, db_config, schema_root=root)
    store = await open_store(db, db_config, schema_root=root)
    await store.close()


async def test_store_refuses_a_database_that_does_not_exist(db: str, db_config: DBConfig) -> None:
    with pytest.raises(IncompatibleSchemaError, match=f"legato-server schema setup --db {db}"):
        await open_store(db, db_config)


async def test_store_refuses_a_database_without_schema(db: str, db_config: DBConfig) -> None:
    backend = schema_tool.open_backend(db, db_config)
    try:
        backend.create_container()
    finally:
        backend.close()

    with pytest.raises(IncompatibleSchemaError, match=f"legato-server schema setup --db {db}"):
        await open_store(db, db_config)


async def test_store_refuses_a_schema_that_needs_a_newer_server(
    db: str, db_config: DBConfig, tmp_path: Path
) -> None:
    root, newer, _ = schema_root_needing_newer(db, tmp_path)
    manifest_path = root / db / "legato" / "versioned" / f"v{newer}" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["min_compatible_version"] = newer  # not readable by code that knows only the shipped versions
    manifest_path.write_text(json.dumps(manifest))
    schema_tool.run("setup", db, db_config, schema_root=root)
    schema_tool.run("update", db, db_config, schema_root=root)

    with pytest.raises(IncompatibleSchemaError, match="Upgrade Legato"):
        await open_store(db, db_config)
