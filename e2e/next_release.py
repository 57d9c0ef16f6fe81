"""This build's *next release*, made up for the upgrade e2e test: one minor up, one schema version more.

The operator's upgrade path (schema Job of the new version first, then the
roll) only shows something when the new image's schema differs from the
running one's. The e2e cluster has a single build, so the test makes the
release after it from the same code, changed exactly as a real additive
release would be, and nothing else:

* the package version is one minor up (``0.1.0`` -> ``0.2.0``): in
  ``pyproject.toml`` (the image's tag, ``legato.local/legato/legato:0.2.0``)
  and in ``legato.__version__``;
* the MySQL schema gains one version after this build's newest (``1.3`` ->
  ``1.4``): a manifest like the shipped ones and one additive statement, a new
  table (``MARKER_TABLE``). Additive, so its ``min_compatible_version`` is the
  newest shipped one's: the old pods keep serving on the migrated database
  while the new ones roll in, as in a real upgrade. Only MySQL, the store
  the upgrade test runs on; SQLite and Cassandra are as in this build.

``write_source`` copies the wheel's sources (what ``scripts/image/build.sh``
builds from: ``pyproject.toml``, ``README.md`` and the package folders,
tracked or not) into a directory and applies those changes there; the
build script, given that directory as ``LEGATO_IMAGE_SOURCE``, keys the app
layer by the copy's content, so the next release of unchanged code is the
cached archive (seconds), and any code change rebuilds both releases alike.
The repository itself is never touched.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

MYSQL_VERSIONED = Path("server/legato_server/schema/mysql/legato/versioned")
"""Where, relative to the source root, the MySQL schema's versions live."""
MARKER_TABLE = "e2e_next_release_marker"
"""The table only the next release's schema has: its presence shows the migration ran."""
IMAGE_REPOSITORY = "legato.local/legato/legato"
SDK_INIT = Path("sdk/legato/__init__.py")


@dataclass(frozen=True)
class NextRelease:
    version: str
    """The package version, one minor after this build's."""
    schema_version: str
    """The MySQL schema version the release adds (one after this build's newest)."""

    @property
    def image(self) -> str:
        """The tag ``scripts/image/build.sh`` gives it (its default repository)."""
        return f"{IMAGE_REPOSITORY}:{self.version}"


def next_minor(version: str) -> str:
    """``0.1.0`` -> ``0.2.0`` (the patch resets, as a release's would)."""
    major, minor, _patch = (int(part) for part in version.split("."))
    return f"{major}.{minor + 1}.0"


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.removeprefix("v").split("."))


def newest_schema(versioned: Path) -> tuple[str, dict[str, object]]:
    """The newest ``vX.Y`` directory's version and manifest."""
    newest = max((path for path in versioned.iterdir() if path.is_dir()), key=lambda p: _version_key(p.name))
    return newest.name.removeprefix("v"), json.loads((newest / "manifest.json").read_text())


def next_schema_version(version: str) -> str:
    """``1.3`` -> ``1.4``: a release adds a minor schema version."""
    major, minor = version.split(".")
    return f"{major}.{int(minor) + 1}"


def wheel_sources(repo: Path) -> list[str]:
    """The files the image's wheel is built from, as ``scripts/image/build.sh`` lists them."""
    config = tomllib.loads((repo / "pyproject.toml").read_text())
    folders = config["tool"]["setuptools"]["packages"]["find"]["where"]
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z", "--", "pyproject.toml", "README.md", *folders],
        cwd=repo, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    return sorted(
        name
        for name in listed
        if name and "/__pycache__/" not in name and ".egg-info/" not in name and (repo / name).is_file()
    )


def write_source(repo: Path, destination: Path) -> NextRelease:
    """Copy ``repo``'s wheel sources into ``destination`` (an empty directory) as the next release."""
    for name in wheel_sources(repo):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(repo / name, target)

    pyproject = destination / "pyproject.toml"
    current = tomllib.loads(pyproject.read_text())["project"]["version"]
    version = next_minor(current)
    pyproject.write_text(_replace_once(pyproject.read_text(), rf'(?m)^version = "{re.escape(current)}"$',
                                       f'version = "{version}"'))  # fmt: skip
    sdk_init = destination / SDK_INIT
    sdk_init.write_text(_replace_once(sdk_init.read_text(), rf'(?m)^__version__ = "{re.escape(current)}"$',
                                      f'__version__ = "{version}"'))  # fmt: skip

    newest, manifest = newest_schema(destination / MYSQL_VERSIONED)
    schema_version = next_schema_version(newest)
    directory = destination / MYSQL_VERSIONED / f"v{schema_version}"
    directory.mkdir()
    (directory / "marker.sql").write_text(
        f"-- The e2e upgrade test's next release (e2e/next_release.py): one additive table,\n"
        f"-- so servers of {newest} keep working on this version while the pods roll.\n"
        f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (\n"
        f"    id    INT           NOT NULL PRIMARY KEY,\n"
        f"    note  VARCHAR(255)  NOT NULL\n"
        f") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;\n"
    )
    (directory / "manifest.json").write_text(
        json.dumps(
            {
                "version": schema_version,
                "min_compatible_version": manifest["min_compatible_version"],
                "description": f"e2e next release {version}: an additive marker table ({MARKER_TABLE}).",
                "files": ["marker.sql"],
            },
            indent=2,
        )
        + "\n"
    )
    return NextRelease(version=version, schema_version=schema_version)


def _replace_once(text: str, pattern: str, replacement: str) -> str:
    result, count = re.subn(pattern, replacement, text, count=1)
    if count != 1:
        raise ValueError(f"the next release cannot be made: no line matches {pattern!r}")
    return result
