#!/usr/bin/env bash
# Databases for the pods of the e2e cluster, on the pod bridge address
# 10.244.0.1 only: the test suite's own launchers (scripts/infra/), each as a
# second instance with its own data directory.
#
#   e2e/infra/db.sh start|stop|status|reset          MariaDB on 10.244.0.1:3306
#   e2e/infra/db.sh start-cassandra|stop-cassandra|status-cassandra|reset-cassandra
#                                                    Cassandra on 10.244.0.1:9042
#
# Why the host and not a pod: it is the same MariaDB/Cassandra build and
# configuration the integration tests use, it needs no second image built and
# cached (a cold CI run stays short), and its data lives outside the cluster,
# so deleting a Legato pod tests Legato's durability rather than the
# database's. Pods reach it on the bridge address directly, without leaving
# the machine; the host's own test instances on 127.0.0.1 are left alone.
# Start it after `e2e/infra/cluster.sh up` (the address exists only while the
# bridge does); `cluster.sh down` stops both.
#
# MariaDB: pods connect as legato/legato (from 10.244.0.%) to databases named
# legato%.
#
# Cassandra: the jars scripts/infra/cassandra.sh fetched (once, cached by
# version), data in $LEGATO_E2E_CACHE/cassandra-e2e, a 768 MiB heap, storage
# port 7010 (the test suite's node keeps 7000) and its own cluster name, so
# the two nodes never gossip. listen/rpc address 10.244.0.1: that is also the
# address the node tells drivers to use, so a driver in a pod is never sent to
# 127.0.0.1 (its own loopback). No authentication, like the test suite's node:
# a LegatoCluster on it names no password Secret (the CRD allows that).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export LEGATO_E2E_CACHE="${LEGATO_E2E_CACHE:-$HOME/.cache/legato-e2e}"
BRIDGE_ADDRESS=10.244.0.1

need_bridge() {
    if ! ip -4 addr show 2>/dev/null | grep -q "inet $BRIDGE_ADDRESS/"; then
        echo "e2e/infra/db.sh: $BRIDGE_ADDRESS is not configured; run e2e/infra/cluster.sh up first" >&2
        exit 1
    fi
}

command=${1:-}
case "$command" in
    start-cassandra | stop-cassandra | status-cassandra | reset-cassandra)
        export LEGATO_CASSANDRA_DIR="$LEGATO_E2E_CACHE/cassandra-e2e"
        export LEGATO_CASSANDRA_BIND=$BRIDGE_ADDRESS
        export LEGATO_CASSANDRA_PORT=9042
        export LEGATO_CASSANDRA_STORAGE_PORT=7010
        export LEGATO_CASSANDRA_CLUSTER_NAME=legato-e2e-pods
        export LEGATO_CASSANDRA_HEAP="${LEGATO_E2E_CASSANDRA_HEAP:-768m}"
        # Two JVMs start on a loaded 2-core machine: give it more than the default 180 s.
        export LEGATO_CASSANDRA_START_TIMEOUT="${LEGATO_CASSANDRA_START_TIMEOUT:-300}"
        [[ $command == start-cassandra ]] && need_bridge
        exec "$here/../../scripts/infra/cassandra.sh" "${command%-cassandra}" "${@:2}"
        ;;
    *)
        export LEGATO_MARIADB_DIR="$LEGATO_E2E_CACHE/mariadb-e2e"
        export LEGATO_MARIADB_BIND=$BRIDGE_ADDRESS
        export LEGATO_MARIADB_PORT=3306
        export LEGATO_MARIADB_CLIENT_HOST=10.244.0.%
        [[ $command == start ]] && need_bridge
        exec "$here/../../scripts/infra/mariadb.sh" "$@"
        ;;
esac
