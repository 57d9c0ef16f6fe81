#!/usr/bin/env bash
# Run the end-to-end suite on a real single-node Kubernetes, building what is
# missing: Kubernetes/CoreDNS/pause (once, cached), the Legato image (seconds
# when only code changed), then cluster up, image import, the e2e MariaDB and
# Cassandra (e2e/infra/db.sh),
# `pytest e2e`, and cluster down. Prints each phase's wall time. The operator's
# upgrade test builds and imports a second image in its fixture: this build's
# next release (e2e/next_release.py), cached by content like the first.
#
#   scripts/e2e.sh                  # everything
#   scripts/e2e.sh -k fifty -x      # extra arguments go to pytest
#
# LEGATO_E2E_KEEP_CLUSTER=1 leaves the cluster (and its databases) running for
# the next run or for poking at it with
# `$(e2e/infra/cluster.sh paths | sed -n s/KUBECTL=//p) --kubeconfig $(e2e/infra/cluster.sh kubeconfig) ...`.
# Needs root (network namespaces, mounts, iptables, debootstrap).
set -euo pipefail
cd "$(dirname "$0")/.."

declare -a TIMINGS=()
phase_start=0
phase() {
    phase_name=$1
    phase_start=$SECONDS
    echo "== e2e: $phase_name"
}
phase_end() {
    TIMINGS+=("$(printf '%-22s %4d s' "$phase_name" $((SECONDS - phase_start)))")
}
report() {
    local rc=$?
    echo "== e2e timings"
    local line
    for line in "${TIMINGS[@]}"; do echo "   $line"; done
    echo "   total                  $SECONDS s (exit $rc)"
}
trap report EXIT

cluster_started=0
teardown() {
    if [[ $cluster_started == 1 && "${LEGATO_E2E_KEEP_CLUSTER:-}" != "1" ]]; then
        phase "cluster down"
        e2e/infra/cluster.sh down || echo "e2e: cluster down failed; see the messages above" >&2
        phase_end
    fi
}

phase "system packages"
e2e/infra/build.sh packages
phase_end
phase "build kubernetes"
e2e/infra/build.sh kube
phase_end
phase "build coredns"
e2e/infra/build.sh coredns
phase_end
phase "build pause image"
e2e/infra/build.sh pause
phase_end
phase "build helm"
e2e/infra/build.sh helm
phase_end
phase "build legato image"
archive=$(scripts/image/build.sh)
phase_end

phase "cluster up"
if ! e2e/infra/cluster.sh status >/dev/null 2>&1; then
    cluster_started=1
fi
trap 'teardown; report' EXIT
e2e/infra/cluster.sh up
phase_end
phase "import image"
e2e/infra/cluster.sh import "$archive"
phase_end
phase "e2e mariadb"
e2e/infra/db.sh start
phase_end
phase "e2e cassandra"
e2e/infra/db.sh start-cassandra
phase_end

phase "pytest e2e"
set +e
# The cluster is up: the fixtures reuse it, and this script owns its teardown.
LEGATO_E2E_KEEP_CLUSTER=1 python3 -m pytest -p no:cacheprovider -v --durations=0 e2e "$@"
rc=$?
set -e
phase_end
if [[ $rc -eq 5 ]]; then
    echo "pytest collected no e2e tests: that is a failure" >&2
    exit 1
fi
exit "$rc"
