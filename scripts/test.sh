#!/usr/bin/env bash
# Run Legato's whole test suite on this machine, setting up what it needs:
# Python dependencies, generated-stub check, lint, MariaDB and Cassandra
# (real servers, started by scripts/infra/*), then pytest, then the
# end-to-end suite on a real Kubernetes (scripts/e2e.sh).
#
#   scripts/test.sh                 # everything
#   scripts/test.sh tests/sdk -x    # extra arguments go to pytest (and skip e2e)
#   LEGATO_SKIP_E2E=1 scripts/test.sh   # everything but the e2e suite
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS=0
trap 'echo "== total: $SECONDS s"' EXIT

python3 -m pip install --quiet --disable-pip-version-check -e '.[dev]'

echo "== generated stubs are current"
python3 scripts/gen_protos.py --check
python3 scripts/gen_chart.py --check  # the chart's CRD copies and values schema

echo "== lint"
python3 -m ruff check sdk server operator bench tests scripts samples e2e
python3 -m ruff format --check sdk server operator bench tests scripts samples e2e
lint-imports  # layers only look down: contracts in pyproject.toml [tool.importlinter]

echo "== types (SDK public API, samples, server)"
python3 -m mypy sdk/legato samples server/legato_server

if [ "${LEGATO_SKIP_INFRA:-}" != "1" ]; then
    echo "== databases"
    scripts/infra/mariadb.sh start
    scripts/infra/cassandra.sh start
fi

# Helm for the chart's template/lint tests (tests/chart); once per machine,
# cached under ~/.cache/legato-e2e/helm-<version> (cold: ~5-12 min).
echo "== helm"
helm_start=$SECONDS
e2e/infra/build.sh helm
echo "== helm took $((SECONDS - helm_start)) s"

# Jaeger v2 for the tracing tests (tests/tracing); built once per machine from
# the Go module proxy into ~/.cache/legato-e2e/jaeger-<version> (cold: ~30-60
# min), then started on 127.0.0.1 with in-memory storage (0.2 s).
if [ "${LEGATO_SKIP_INFRA:-}" != "1" ]; then
    echo "== jaeger"
    jaeger_start=$SECONDS
    scripts/infra/jaeger.sh start
    echo "== jaeger took $((SECONDS - jaeger_start)) s"
fi

echo "== tests ($SECONDS s so far)"
tests_start=$SECONDS
set +e
python3 -m pytest -q -p no:cacheprovider "$@"
rc=$?
set -e
echo "== tests took $((SECONDS - tests_start)) s"
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure" >&2
    exit 1
fi

# The e2e suite runs even when the tests above failed (its signal is
# independent); a run narrowed by pytest arguments skips it.
if [ "${LEGATO_SKIP_E2E:-}" != "1" ] && [ "$#" -eq 0 ]; then
    echo "== e2e (real Kubernetes; scripts/e2e.sh)"
    e2e_rc=0
    scripts/e2e.sh || e2e_rc=$?
    if [ "$rc" -eq 0 ]; then
        rc=$e2e_rc
    fi
fi
exit "$rc"
