#!/usr/bin/env bash
# MariaDB for the pods of the e2e cluster: scripts/infra/mariadb.sh's server,
# as a second instance with its own data directory, bound to the pod bridge
# address 10.244.0.1:3306 only.
#
#   e2e/infra/db.sh start|stop|status|reset
#
# Why the host and not a pod: it is the same MariaDB build and configuration
# the integration tests use, it needs no second image built and cached (a cold
# CI run stays short), and its data lives outside the cluster, so deleting a
# Legato pod tests Legato's durability rather than the database's. Pods reach
# it on the bridge address directly, without leaving the machine; the host's
# own test instance on 127.0.0.1 is left alone. Start it after
# `e2e/infra/cluster.sh up` (the address exists only while the bridge does);
# `cluster.sh down` stops it.
#
# Pods connect as legato/legato (from 10.244.0.%) to databases named legato%.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export LEGATO_E2E_CACHE="${LEGATO_E2E_CACHE:-$HOME/.cache/legato-e2e}"
export LEGATO_MARIADB_DIR="$LEGATO_E2E_CACHE/mariadb-e2e"
export LEGATO_MARIADB_BIND=10.244.0.1
export LEGATO_MARIADB_PORT=3306
export LEGATO_MARIADB_CLIENT_HOST=10.244.0.%
if [[ "${1:-}" == start ]] && ! ip -4 addr show 2>/dev/null | grep -q "inet $LEGATO_MARIADB_BIND/"; then
    echo "e2e/infra/db.sh: $LEGATO_MARIADB_BIND is not configured; run e2e/infra/cluster.sh up first" >&2
    exit 1
fi
exec "$here/../../scripts/infra/mariadb.sh" "$@"
