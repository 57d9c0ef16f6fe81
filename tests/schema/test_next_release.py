"""The e2e upgrade test's made-up next release (``e2e/next_release.py``), checked in seconds on real MariaDB.

The upgrade e2e test builds an image from it and rolls a cluster to it; what
that image's schema Job and servers will do with the database is checked here
first, on the test MariaDB, without Kubernetes: the copy's schema loads, its
one new version migrates a database this build set up, and this build's
store still opens the migrated database (the old pods keep serving during the
roll).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from e2e import next_release
from legato_server import schema_tool
from legato_server.persistence.config import MySQLConfig
from legato_server.schema import list_versions
from tests import infra
from tests.schema.test_schema_tool import backend_status, open_store

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def release_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[next_release.NextRelease, Path]:
    source = tmp_path_factory.mktemp("next-release")
    return next_release.write_source(REPO_ROOT, source), source


def test_one_minor_up_one_schema_version_more(release_source: tuple[next_release.NextRelease, Path]) -> None:
    release, source = release_source
    this = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    major, minor, _ = (int(part) for part in this.split("."))
    assert release.version == f"{major}.{minor + 1}.0"
    assert tomllib.loads((source / "pyproject.toml").read_text())["project"]["version"] == release.version
    assert f'__version__ = "{release.version}"' in (source / next_release.SDK_INIT).read_text()
    assert release.image == f"legato.local/legato/legato:{release.version}"

    shipped = list_versions("mysql")
    made = list_versions("mysql", root=source / "server" / "legato_server" / "schema")
    assert [v.version for v in made] == [*(v.version for v in shipped), release.schema_version]
    assert made[-1].min_compatible_version == shipped[-1].min_compatible_version
    # Only the version and the new schema directory differ from this build's sources.
    copied = set(next_release.wheel_sources(REPO_ROOT))
    written = {str(p.relative_to(source)) for p in source.rglob("*") if p.is_file()}
    new_dir = f"{next_release.MYSQL_VERSIONED}/v{release.schema_version}"
    assert written - copied == {f"{new_dir}/manifest.json", f"{new_dir}/marker.sql"}
    changed = {name for name in copied if (REPO_ROOT / name).read_bytes() != (source / name).read_bytes()}
    assert changed == {"pyproject.toml", str(next_release.SDK_INIT)}


@pytest.mark.parametrize("db", ["mysql"], indirect=True)
async def test_its_schema_migrates_this_builds_database_which_this_build_still_opens(
    db: str, db_config: MySQLConfig, release_source: tuple[next_release.NextRelease, Path]
) -> None:
    release, source = release_source
    root = source / "server" / "legato_server" / "schema"
    schema_tool.run("setup", db, db_config)
    schema_tool.run("update", db, db_config)

    message = schema_tool.run("update", db, db_config, schema_root=root)

    assert f"applied {release.schema_version}" in message
    assert backend_status(db, db_config, schema_root=root).version == release.schema_version
    connection = infra.mysql_connect(db_config.database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW TABLES LIKE %s", (next_release.MARKER_TABLE,))
            assert cursor.fetchall() == ((next_release.MARKER_TABLE,),)
    finally:
        connection.close()
    store = await open_store(db, db_config)  # this build's code on the next release's schema
    await store.close()
