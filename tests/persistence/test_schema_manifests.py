"""The versioned-schema loader every database kind shares (``legato_server.schema``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from legato_server.schema import SchemaError, list_versions, parse_version, read_manifest, versioned_dir


def _write_version(root: Path, version: str, *, min_compatible: str | None = None, files: dict[str, str] | None = None,
                   directory: str | None = None, manifest: object = None) -> Path:  # fmt: skip
    files = {"schema.sql": "CREATE TABLE t (x);\n"} if files is None else files
    target = versioned_dir("testdb", root=root) / (directory or f"v{version}")
    target.mkdir(parents=True)
    for name, text in files.items():
        (target / name).write_text(text)
    if manifest is None:
        manifest = {
            "version": version,
            "min_compatible_version": min_compatible or version,
            "description": f"version {version}",
            "files": list(files),
        }
    (target / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    return target


def test_versions_sort_numerically(tmp_path: Path) -> None:
    for version in ("1.10", "1.2", "1.9", "2.0", "1.0"):
        _write_version(tmp_path, version)

    versions = list_versions("testdb", root=tmp_path)

    assert [v.version for v in versions] == ["1.0", "1.2", "1.9", "1.10", "2.0"]


def test_manifest_fields_and_files_in_order(tmp_path: Path) -> None:
    directory = _write_version(
        tmp_path, "1.1", min_compatible="1.0", files={"b.sql": "-- b\n", "a.sql": "-- a\n"}
    )

    version = read_manifest(directory)

    assert (version.version, version.min_compatible_version, version.description) == (
        "1.1",
        "1.0",
        "version 1.1",
    )
    assert version.key == (1, 1)
    assert version.read_files() == [("b.sql", "-- b\n"), ("a.sql", "-- a\n")]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"directory": "v9.9"}, "declares version 1.0 but its directory is v9.9"),
        ({"min_compatible": "2.0"}, "newer than version"),
        ({"manifest": "{not json"}, "not valid JSON"),
        ({"manifest": {"version": "1.0", "files": ["schema.sql"]}}, "lacks the field"),
        (
            {"manifest": {"version": "1.0", "min_compatible_version": "1.0", "files": ["missing.sql"]}},
            "does not exist",
        ),
        ({"manifest": {"version": "1.0", "min_compatible_version": "1.0", "files": []}}, "non-empty list"),
        ({"manifest": ["1.0"]}, "JSON object"),
    ],
    ids=[
        "directory-name-mismatch",
        "min-compatible-newer",
        "bad-json",
        "missing-field",
        "missing-file",
        "no-files",
        "not-an-object",
    ],
)
def test_malformed_manifests_are_rejected(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    directory = _write_version(tmp_path, "1.0", **kwargs)  # type: ignore[arg-type]

    with pytest.raises(SchemaError, match=message):
        read_manifest(directory)


def test_missing_schema_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="no schema for nodb/legato"):
        list_versions("nodb", root=tmp_path)


@pytest.mark.parametrize(("text", "key"), [("1", (1,)), ("1.0", (1, 0)), ("2.10.3", (2, 10, 3))])
def test_versions_parse_to_numeric_keys(text: str, key: tuple[int, ...]) -> None:
    assert parse_version(text) == key


@pytest.mark.parametrize("text", ["1.0.x", "", "v1.0", "1..0"])
def test_versions_must_be_dotted_numbers(text: str) -> None:
    with pytest.raises(SchemaError):
        parse_version(text)


def test_shipped_sqlite_schema_loads() -> None:
    versions = list_versions("sqlite")

    assert versions[0].version == "1.0"
    assert all(v.read_files() for v in versions)
