"""Versioned database schemas, kept as data, and the loader every store and tool shares.

Layout: ``schema/<db>/<keyspace>/versioned/vX.Y/`` holds a ``manifest.json``::

    {"version": "1.0", "min_compatible_version": "1.0",
     "description": "...", "files": ["schema.sql"]}

and the files it names, applied in the listed order. ``<db>`` is the database
kind (``sqlite``, ``mysql``, ``cassandra``); ``<keyspace>`` is the logical
schema inside it (``legato``; a store may add e.g. ``visibility`` later).

Why data and not code: the schema tool (MySQL, Cassandra), the Kubernetes
schema Job and the embedded SQLite store (which self-migrates at open) must
agree on exactly what each version is. Keeping it as files with a manifest
means one source of truth that each of them reads; none of them embeds DDL.

``min_compatible_version`` is the oldest version of the *code's* schema
knowledge that can still work with a database at this version: a server that
knows schema versions up to V may open a database at a newer version W only if
W's ``min_compatible_version`` <= V (additive changes stay compatible).

This module only reads and validates; applying is each database's business.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

SCHEMA_ROOT = Path(__file__).resolve().parent
"""Where the schemas shipped with this package live."""

DEFAULT_KEYSPACE = "legato"

_VERSION_PATTERN = re.compile(r"^\d+(\.\d+)*$")
_MANIFEST_NAME = "manifest.json"


class SchemaError(Exception):
    """A schema directory or manifest is missing or malformed (a packaging bug, not a user error)."""


def parse_version(text: str) -> tuple[int, ...]:
    """``"1.10"`` -> ``(1, 10)``, so versions compare numerically (1.10 > 1.9)."""
    if not _VERSION_PATTERN.match(text):
        raise SchemaError(f"schema version {text!r} is not dotted numbers like '1.0'")
    return tuple(int(part) for part in text.split("."))


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One ``vX.Y`` directory: its manifest, plus where its files are."""

    version: str
    min_compatible_version: str
    description: str
    files: tuple[str, ...]
    directory: Path

    @property
    def key(self) -> tuple[int, ...]:
        """Sort/compare key of ``version``."""
        return parse_version(self.version)

    def read_files(self) -> list[tuple[str, str]]:
        """``(file name, text)`` of every file the manifest lists, in its order."""
        return [(name, (self.directory / name).read_text(encoding="utf-8")) for name in self.files]


def versioned_dir(db: str, keyspace: str = DEFAULT_KEYSPACE, *, root: Path = SCHEMA_ROOT) -> Path:
    """``<root>/<db>/<keyspace>/versioned``."""
    return root / db / keyspace / "versioned"


def read_manifest(directory: Path) -> SchemaVersion:
    """Read and validate ``directory/manifest.json``.

    The directory must be named ``v<version>``, the minimum compatible version
    must not be newer than the version, and every listed file must exist.
    """
    path = directory / _MANIFEST_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(f"{path} is missing") from None
    except json.JSONDecodeError as error:
        raise SchemaError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise SchemaError(f"{path} must hold a JSON object")
    try:
        version = str(raw["version"])
        min_compatible = str(raw["min_compatible_version"])
        files = raw["files"]
    except KeyError as missing:
        raise SchemaError(f"{path} lacks the field {missing}") from None
    if not isinstance(files, list) or not files or not all(isinstance(name, str) for name in files):
        raise SchemaError(f"{path}: 'files' must be a non-empty list of file names")
    if directory.name != f"v{version}":
        raise SchemaError(f"{path} declares version {version} but its directory is {directory.name}")
    if parse_version(min_compatible) > parse_version(version):
        raise SchemaError(f"{path}: min_compatible_version {min_compatible} is newer than version {version}")
    for name in files:
        if not (directory / name).is_file():
            raise SchemaError(f"{path} lists {name}, which does not exist in {directory}")
    return SchemaVersion(
        version=version,
        min_compatible_version=min_compatible,
        description=str(raw.get("description", "")),
        files=tuple(files),
        directory=directory,
    )


def list_versions(
    db: str, keyspace: str = DEFAULT_KEYSPACE, *, root: Path = SCHEMA_ROOT
) -> list[SchemaVersion]:
    """Every version of ``<db>/<keyspace>``, oldest first. Raises SchemaError if there is none."""
    base = versioned_dir(db, keyspace, root=root)
    if not base.is_dir():
        raise SchemaError(f"no schema for {db}/{keyspace}: {base} does not exist")
    versions = [
        read_manifest(entry) for entry in base.iterdir() if entry.is_dir() and entry.name.startswith("v")
    ]
    if not versions:
        raise SchemaError(f"no schema versions under {base}")
    versions.sort(key=lambda v: v.key)
    for older, newer in zip(versions, versions[1:], strict=False):
        if older.key == newer.key:
            raise SchemaError(f"{older.directory} and {newer.directory} are the same version")
    return versions


__all__ = [
    "DEFAULT_KEYSPACE",
    "SCHEMA_ROOT",
    "SchemaError",
    "SchemaVersion",
    "list_versions",
    "parse_version",
    "read_manifest",
    "versioned_dir",
]
