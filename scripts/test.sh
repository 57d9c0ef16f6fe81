#!/usr/bin/env bash
# Run Legato's whole test suite on this machine, setting up what it needs:
# Python dependencies, generated-stub check, lint, MariaDB and Cassandra
# (real servers, started by scripts/infra/*), then pytest.
#
#   scripts/test.sh                 # everything
#   scripts/test.sh tests/sdk -x    # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[dev]'

echo "== generated stubs are current"
python3 scripts/gen_protos.py --check

echo "== lint"
python3 -m ruff check sdk server bench tests scripts samples
python3 -m ruff format --check sdk server bench tests scripts samples

echo "== types (SDK public API and samples)"
python3 -m mypy sdk/legato samples

if [ "${LEGATO_SKIP_INFRA:-}" != "1" ]; then
    echo "== databases"
    scripts/infra/mariadb.sh start
    scripts/infra/cassandra.sh start
fi

echo "== tests"
set +e
python3 -m pytest -q -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
    exit 1
fi
exit "$rc"
