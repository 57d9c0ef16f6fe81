#!/usr/bin/env bash
# A real single-node Kubernetes on this machine, for the end-to-end tests.
#
#   e2e/infra/cluster.sh build              # build kube/coredns/pause once (e2e/infra/build.sh all)
#   e2e/infra/cluster.sh up                 # start it (idempotent; ~30 s warm)
#   e2e/infra/cluster.sh down               # stop it, leave the machine as found
#   e2e/infra/cluster.sh status             # exit 0 when healthy, 3 when down
#   e2e/infra/cluster.sh import ARCHIVE...  # load OCI archives into containerd
#   e2e/infra/cluster.sh kubeconfig         # print the admin kubeconfig's path
#   e2e/infra/cluster.sh paths              # KUBECONFIG=, KUBECTL=, STATE=, LOGS= lines
#
# What runs, each a detached process with a pid file under $STATE/pids:
# etcd, containerd (+ runc), kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy (iptables mode) and CoreDNS. CoreDNS runs
# on the host (no image needed) on 10.244.0.1:53, behind the kube-dns Service
# 10.96.0.10 whose Endpoints point at it.
#
# Network containment: every listener is on 127.0.0.1 or the pod bridge
# cni0 = 10.244.0.1/24 (the node IP and the apiserver's address: 127.0.0.1
# cannot be, since a pod's DNAT to 127.0.0.1 would land in its own netns).
# Pods get a route for the service range only (no default route), their
# resolv.conf never names the host's nameserver, and an iptables rule drops
# anything from the pod network that would leave through another interface.
#
# `down` stops only what `up` started (by pid file, plus containerd shims
# carrying our socket path), removes containers, netns, mounts, the bridge,
# the cgroups, iptables chains and nft tables the cluster made, and restores
# the sysctls the kubelet and CNI change. It works after a failed `up` too.
#
# State (pki, data, logs) lives under $STATE (default
# $LEGATO_E2E_CACHE/cluster); images imported into containerd survive `down`.
# A failing phase names itself and its log file.

INFRA_NAME=cluster
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
set -o errtrace
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR

STATE="${LEGATO_E2E_CLUSTER_DIR:-$LEGATO_E2E_CACHE/cluster}"
NODE=legato-e2e
BRIDGE=cni0
NODE_IP=10.244.0.1
POD_SUBNET=10.244.0.0/24
CLUSTER_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/16
API_SERVICE_IP=10.96.0.1
DNS_IP=10.96.0.10
API_PORT=6443
ETCD_PORT=12379
ETCD_PEER_PORT=12380
UP_TIMEOUT="${LEGATO_E2E_UP_TIMEOUT:-120}"

PKI="$STATE/pki"
PIDS="$STATE/pids"
LOGS="$STATE/logs"
BEFORE="$STATE/before"  # what the machine looked like before `up` touched it
CONTAINERD_SOCK="$STATE/containerd/containerd.sock"
KUBECONFIG_ADMIN="$STATE/admin.kubeconfig"
BIN="$KUBE_DIR/bin"
# Saved and restored by up/down: the kubelet sets the first three, the CNI
# bridge plugin the fourth; the bridge ones make pod-to-service replies on the
# same bridge pass through conntrack.
SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward
    net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables)
DAEMONS=(etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy coredns)

source "$E2E_INFRA/cluster_config.sh"   # pki, write_kubeconfig, write_configs
source "$E2E_INFRA/cluster_teardown.sh" # stop_together, remove_*, restore_host, ...

# ------------------------------------------------------------------ helpers

kctl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
ctr_() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }

# phase NAME: start timing a phase; phase_done prints its duration.
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
phase() {
    PHASE=$1
    PHASE_START=$(now_ms)
}
phase_done() {
    local ms=$(($(now_ms) - PHASE_START))
    log "phase $PHASE: $((ms / 1000)).$((ms % 1000 / 100)) s"
}

# fail_phase [LOG]: die naming the current phase and its log file.
fail_phase() {
    local logfile=${1:-$LOGS/$PHASE.log}
    [[ -f "$logfile" ]] && tail -n 25 "$logfile" >&2
    die "phase up-$PHASE failed; see $logfile (clean up with: $0 down)"
}

# start_daemon NAME CMD...: run CMD detached, output to $LOGS/NAME.log.
start_daemon() {
    local name=$1
    shift
    if pid_alive "$PIDS/$name.pid"; then
        return 0
    fi
    # 9>&-: the daemon must not inherit (and so hold) the lock of this script.
    setsid nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 9>&- &
    echo $! >"$PIDS/$name.pid"
}

# wait_for NAME DESCRIPTION CMD...: poll CMD with the up deadline; the
# daemon NAME dying ends the wait early.
wait_for() {
    local name=$1 what=$2
    shift 2
    WAIT_PIDFILE="$PIDS/$name.pid" wait_until "$UP_TIMEOUT" "$what" "$@" >/dev/null 2>&1 \
        || fail_phase "$LOGS/$name.log"
}

api_ready() {
    curl -sf --cacert "$PKI/ca.crt" -H "Authorization: Bearer $(token admin)" \
        "https://$NODE_IP:$API_PORT/readyz" >/dev/null
}

token() { awk -F, -v user="$1" '$5 == user { print $1 }' "$PKI/tokens.csv"; }

# ------------------------------------------------------------------ preflight

preflight() {
    phase preflight
    [[ $(id -u) == 0 ]] || die "phase up-preflight: must run as root (network namespaces, mounts, iptables)"
    local tool
    for tool in etcd containerd ctr runc iptables ip6tables ip openssl curl findmnt; do
        need_tool "$tool" "apt-get install etcd-server containerd runc iptables iproute2 openssl curl util-linux"
    done
    [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/portmap ]] \
        || die "missing CNI plugins in /usr/lib/cni: apt-get install containernetworking-plugins"
    local b
    for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
        [[ -x "$BIN/$b" ]] || die "phase up-preflight: $BIN/$b is not built; run: e2e/infra/cluster.sh build"
    done
    [[ -x "$COREDNS_DIR/bin/coredns" ]] || die "phase up-preflight: coredns is not built; run: e2e/infra/cluster.sh build"
    [[ -s "$PAUSE_DIR/pause.oci.tar" ]] || die "phase up-preflight: the pause image is not built; run: e2e/infra/cluster.sh build"
    phase_done
}

# ------------------------------------------------------------------ host network

record_before() {
    # Only the first `up` after a clean `down` records: a second `up` must not
    # take the cluster's own changes for the machine's original state.
    [[ -d "$BEFORE" ]] && return 0
    mkdir -p "$BEFORE.tmp"
    local key
    for key in "${SYSCTLS[@]}"; do
        sysctl -n "$key" >/dev/null 2>&1 && echo "$key=$(sysctl -n "$key")" >>"$BEFORE.tmp/sysctls"
    done
    ls /run/netns 2>/dev/null >"$BEFORE.tmp/netns" || true
    local path
    for path in /var/lib/kubelet /var/log/containers /var/log/pods /run/netns /usr/libexec/kubernetes \
        /run/containerd /var/lib/cni; do
        [[ -e $path ]] && echo "$path" >>"$BEFORE.tmp/paths"
    done
    for path in /sys/fs/cgroup/*/kubepods; do
        [[ -e $path ]] && echo "$path" >>"$BEFORE.tmp/paths"
    done
    ip link show "$BRIDGE" >/dev/null 2>&1 && echo "$BRIDGE" >"$BEFORE.tmp/bridge"
    nft list tables 2>/dev/null | sort >"$BEFORE.tmp/nft-tables" || true
    touch "$BEFORE.tmp/paths"
    mv "$BEFORE.tmp" "$BEFORE"
}

host_network() {
    phase network
    record_before
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        ip link add "$BRIDGE" type bridge || fail_phase
    fi
    ip addr show dev "$BRIDGE" | grep -q "inet $NODE_IP/" || ip addr add "$NODE_IP/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 \
        net.ipv4.ip_forward=1 || fail_phase
    # Pods may talk to each other, the node and services, never leave the machine.
    iptables -N LEGATO-E2E 2>/dev/null || iptables -F LEGATO-E2E
    iptables -A LEGATO-E2E -s "$CLUSTER_CIDR" ! -o "$BRIDGE" -j DROP
    iptables -C FORWARD -j LEGATO-E2E 2>/dev/null || iptables -I FORWARD 1 -j LEGATO-E2E
    phase_done
}

# ------------------------------------------------------------------ up

start_etcd() {
    phase etcd
    rm -rf "$STATE/etcd"
    start_daemon etcd etcd --name "$NODE" --data-dir "$STATE/etcd" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
        --initial-cluster "$NODE=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
        --quota-backend-bytes 2147483648 --snapshot-count 100000
    wait_for etcd "etcd health" curl -sf "http://127.0.0.1:$ETCD_PORT/health"
    phase_done
}

start_containerd() {
    phase containerd
    mkdir -p "$(dirname "$CONTAINERD_SOCK")"
    start_daemon containerd containerd --config "$STATE/containerd/config.toml"
    wait_for containerd "containerd socket" ctr_ version
    # The sandbox image must be there before the first pod: nothing can be pulled.
    ctr_ images import "$PAUSE_DIR/pause.oci.tar" >>"$LOGS/containerd.log" 2>&1 \
        || fail_phase "$LOGS/containerd.log"
    phase_done
}

start_apiserver() {
    phase kube-apiserver
    start_daemon kube-apiserver "$BIN/kube-apiserver" \
        --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
        --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port "$API_PORT" \
        --service-cluster-ip-range "$SERVICE_CIDR" \
        --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
        --client-ca-file "$PKI/ca.crt" \
        --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
        --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
        --kubelet-certificate-authority "$PKI/ca.crt" \
        --kubelet-preferred-address-types InternalIP \
        --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --token-auth-file "$PKI/apiserver-tokens.csv" \
        --authorization-mode Node,RBAC --allow-privileged=true \
        --enable-admission-plugins NodeRestriction \
        --profiling=false --event-ttl 30m --v 1
    wait_for kube-apiserver "apiserver /readyz" api_ready
    phase_done
}

start_control_plane() {
    phase control-plane
    mkdir -p "$STATE/certs/controller-manager" "$STATE/certs/scheduler"
    start_daemon kube-controller-manager "$BIN/kube-controller-manager" \
        --kubeconfig "$STATE/controller-manager.kubeconfig" \
        --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" \
        --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
        --bind-address 127.0.0.1 --cert-dir "$STATE/certs/controller-manager" \
        --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
        --use-service-account-credentials --allocate-node-cidrs=false --leader-elect=false \
        --cluster-cidr "$CLUSTER_CIDR" --service-cluster-ip-range "$SERVICE_CIDR" \
        --profiling=false --v 1
    start_daemon kube-scheduler "$BIN/kube-scheduler" \
        --kubeconfig "$STATE/scheduler.kubeconfig" \
        --authentication-kubeconfig "$STATE/scheduler.kubeconfig" \
        --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
        --bind-address 127.0.0.1 --cert-dir "$STATE/certs/scheduler" \
        --leader-elect=false --profiling=false --v 1
    # CoreDNS reads services and endpoints; kube-dns points at it on the host.
    kctl apply -f - >>"$LOGS/control-plane.log" 2>&1 <<EOF || fail_phase
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "legato-e2e:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "legato-e2e:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "legato-e2e:coredns"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: system:legato-e2e-coredns}
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  clusterIP: $DNS_IP
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
---
apiVersion: v1
kind: Endpoints
metadata:
  name: kube-dns
  namespace: kube-system
subsets:
- addresses: [{ip: $NODE_IP}]
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
EOF
    phase_done
}

start_node() {
    phase node
    start_daemon kubelet "$BIN/kubelet" \
        --config "$STATE/kubelet-config.yaml" --kubeconfig "$STATE/kubelet.kubeconfig" \
        --root-dir "$STATE/kubelet" --cert-dir "$STATE/kubelet/pki" \
        --hostname-override "$NODE" --node-ip "$NODE_IP" --v 1
    start_daemon kube-proxy "$BIN/kube-proxy" --config "$STATE/kube-proxy-config.yaml" --v 1
    start_daemon coredns "$COREDNS_DIR/bin/coredns" -conf "$STATE/Corefile"
    wait_for kubelet "node $NODE Ready" node_ready
    wait_for kube-proxy "kube-proxy healthz" curl -sf http://127.0.0.1:10256/healthz
    wait_for coredns "coredns ready" curl -sf http://127.0.0.1:18181/ready
    phase_done
}

node_ready() {
    [[ "$(kctl get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

cluster_ready() {
    phase ready
    wait_for kube-controller-manager "the default ServiceAccount" kctl -n default get serviceaccount default
    wait_for kube-controller-manager "the kube-root-ca.crt ConfigMap" kctl -n default get configmap kube-root-ca.crt
    phase_done
}

healthy() {
    local name
    for name in "${DAEMONS[@]}"; do
        pid_alive "$PIDS/$name.pid" || return 1
    done
    api_ready && node_ready
}

up() {
    local start=$SECONDS
    preflight
    mkdir -p "$PIDS" "$LOGS"
    if healthy 2>/dev/null; then
        log "already up (kubeconfig: $KUBECONFIG_ADMIN)"
        return 0
    fi
    if compgen -G "$PIDS/*.pid" >/dev/null; then
        log "a previous cluster is partly running; tearing it down first"
        down
        mkdir -p "$PIDS" "$LOGS"
    fi
    # Each run's logs start empty (the previous run's are kept as *.log.prev),
    # so a failure message's log file shows only this run.
    local logfile
    for logfile in "$LOGS"/*.log; do
        [[ -f $logfile ]] && mv -f "$logfile" "$logfile.prev"
    done
    pki
    write_configs
    host_network
    start_etcd
    start_containerd
    start_apiserver
    start_control_plane
    start_node
    cluster_ready
    log "up in $((SECONDS - start)) s; kubeconfig: $KUBECONFIG_ADMIN (kubectl: $BIN/kubectl)"
}

# ------------------------------------------------------------------ down

# session_pids: the live pytest sessions using the cluster. e2e/conftest.py
# registers each in $STATE/sessions/<pid>; `down` leaves the cluster up while
# one runs, since several people (and CI) share this machine's cluster.
session_pids() {
    local file pid
    for file in "$STATE"/sessions/*; do
        [[ -e $file ]] || continue
        pid=${file##*/}
        if kill -0 "$pid" 2>/dev/null; then echo -n "$pid "; else rm -f "$file"; fi
    done
}

down() {
    local start=$SECONDS
    [[ $(id -u) == 0 ]] || die "down must run as root"
    mkdir -p "$PIDS" "$LOGS"
    # The e2e MariaDB and Cassandra listen on the bridge address that is about to go.
    "$E2E_INFRA/db.sh" stop >/dev/null 2>&1 || true
    "$E2E_INFRA/db.sh" stop-cassandra >/dev/null 2>&1 || true
    stop_pidfile "$PIDS/kubelet.pid" kubelet 20
    remove_containers
    kill_cgroup_procs
    # The apiserver before etcd: without etcd its shutdown hangs on storage
    # calls. It may also wait on long-running requests (watches of a test's
    # operator) for a minute; nothing it holds survives `down`, so 5 s will do.
    stop_together kube-proxy coredns kube-scheduler kube-controller-manager
    stop_together -g 5 kube-apiserver
    stop_together etcd
    stop_pidfile "$PIDS/containerd.pid" containerd 20
    kill_shims
    kill_cgroup_procs
    unmount_all
    remove_netns
    remove_cgroups
    if [[ -d "$BEFORE" ]]; then
        restore_host
    else
        # `up` never recorded (it failed first, or nothing ran): still remove
        # what is unmistakably ours.
        ip link delete "$BRIDGE" 2>/dev/null || true
        remove_iptables
    fi
    rm -rf "$STATE/etcd" "$STATE/kubelet" "$STATE/cni/ipam" "$STATE/pod-logs" "$STATE/containerd/state" \
        "$PIDS"
    log "down in $((SECONDS - start)) s"
}

# ------------------------------------------------------------------ status / import

status() {
    local name state rc=0
    for name in "${DAEMONS[@]}"; do
        if pid_alive "$PIDS/$name.pid"; then state="running (pid $(cat "$PIDS/$name.pid"))"; else
            state=stopped
            rc=3
        fi
        printf '%-24s %s\n' "$name" "$state"
    done
    if [[ $rc == 0 ]] && api_ready && node_ready; then
        echo "cluster: healthy; export KUBECONFIG=$KUBECONFIG_ADMIN"
    else
        echo "cluster: down or unhealthy (start it: e2e/infra/cluster.sh up)"
        rc=3
    fi
    return $rc
}

import_images() {
    [[ $# -gt 0 ]] || die "usage: $0 import ARCHIVE..."
    pid_alive "$PIDS/containerd.pid" || die "containerd is not running; run: e2e/infra/cluster.sh up"
    local archive start
    for archive in "$@"; do
        start=$SECONDS
        [[ -s $archive ]] || die "no such image archive: $archive"
        # The same manifest already in containerd: nothing to do (saves ~7 s).
        local ref digest
        read -r ref digest < <(tar -xOf "$archive" index.json | python3 -c 'import json, sys
m = json.load(sys.stdin)["manifests"][0]
print(m["annotations"]["io.containerd.image.name"], m["digest"])')
        if ctr_ images ls "name==$ref" 2>/dev/null | awk 'NR > 1 { print $3 }' | grep -qx "$digest"; then
            log "$ref is already imported ($digest)"
            continue
        fi
        ctr_ images import "$archive" >>"$LOGS/import.log" 2>&1 \
            || { tail -n 20 "$LOGS/import.log" >&2; die "phase import failed for $archive; see $LOGS/import.log"; }
        log "imported $archive in $((SECONDS - start)) s"
    done
}

# up, down and import change shared state: one at a time (status and paths
# only read). A second `up` waits for the first and then finds it healthy.
case "${1:-}" in
    up | down | import)
        mkdir -p "$STATE"
        exec 9>"$STATE/.lock"
        flock 9
        ;;
esac

case "${1:-}" in
    build) "$E2E_INFRA/build.sh" all ;;
    up) up ;;
    down)
        users=$(session_pids)
        if [[ -n "$users" && "${LEGATO_E2E_FORCE_DOWN:-}" != 1 ]]; then
            log "in use by test session(s) ${users% }; leaving it up (LEGATO_E2E_FORCE_DOWN=1 to force)"
            exit 0
        fi
        down
        ;;
    status) status || exit $? ;;
    import)
        shift
        import_images "$@"
        ;;
    kubeconfig) echo "$KUBECONFIG_ADMIN" ;;
    paths) printf 'KUBECONFIG=%s\nKUBECTL=%s\nSTATE=%s\nLOGS=%s\n' "$KUBECONFIG_ADMIN" "$BIN/kubectl" "$STATE" "$LOGS" ;;
    *)
        echo "usage: $0 build|up|down|status|import ARCHIVE...|kubeconfig|paths" >&2
        exit 2
        ;;
esac
