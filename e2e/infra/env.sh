# Versions, cache locations and helpers shared by the e2e/infra scripts.
# Source it; don't run it.

E2E_INFRA="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$E2E_INFRA/../.." && pwd)"
source "$REPO_ROOT/scripts/infra/common.sh"

KUBE_VERSION=v1.32.13
COREDNS_VERSION=v1.11.3
PAUSE_VERSION=3.10
HELM_VERSION=v3.22.0
# Named exactly like containerd's sandbox_image: nothing can be pulled here.
PAUSE_IMAGE="registry.k8s.io/pause:$PAUSE_VERSION"

# Builds are cached by version; a new version builds next to the old one.
KUBE_DIR="$LEGATO_E2E_CACHE/kubernetes-$KUBE_VERSION"
COREDNS_DIR="$LEGATO_E2E_CACHE/coredns-$COREDNS_VERSION"
PAUSE_DIR="$LEGATO_E2E_CACHE/pause-$PAUSE_VERSION"
HELM_DIR="$LEGATO_E2E_CACHE/helm-$HELM_VERSION"
LOG_DIR="$LEGATO_E2E_CACHE/logs"
mkdir -p "$LOG_DIR"

# need_tool NAME HINT: fail naming the missing tool and how to get it.
need_tool() {
    command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]] || [[ -x "/sbin/$1" ]] \
        || die "missing tool '$1': install $2"
}
