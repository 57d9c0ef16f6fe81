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
    setsid nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
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

# ------------------------------------------------------------------ pki

pki() {
    phase pki
    [[ -s "$PKI/done" ]] || make_pki
    local name user
    for name in admin controller-manager scheduler kubelet kube-proxy coredns; do
        case $name in
            admin) user=admin ;;
            kubelet) user="system:node:$NODE" ;;
            kube-proxy) user=system:kube-proxy ;;
            coredns) user=system:legato-e2e-coredns ;;
            *) user="system:kube-$name" ;;
        esac
        write_kubeconfig "$STATE/$name.kubeconfig" "$(token "$user")"
    done
    phase_done
}

make_pki() {
    rm -rf "$PKI"
    mkdir -p "$PKI"
    # set -e does not apply inside a `( ) || handler`; hence the explicit status.
    set +e
    (
        set -e
        cd "$PKI"
        local days=3650
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days $days \
            -subj "/CN=legato-e2e-ca"
        # cert NAME SUBJECT [SANS]: a key and a CA-signed certificate.
        cert() {
            local ext
            ext=$(mktemp)
            printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n' >"$ext"
            printf 'extendedKeyUsage=serverAuth,clientAuth\n' >>"$ext"
            [[ -n "${3:-}" ]] && echo "subjectAltName=$3" >>"$ext"
            openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2"
            openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" \
                -days $days -extfile "$ext"
            rm -f "$1.csr" "$ext"
        }
        cert apiserver "/CN=kube-apiserver" \
            "IP:127.0.0.1,IP:$API_SERVICE_IP,IP:$NODE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
        cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
        cert kubelet "/CN=$NODE" "IP:$NODE_IP,DNS:$NODE"
        openssl genrsa -out sa.key 2048
        openssl rsa -in sa.key -pubout -out sa.pub
        # token,user,uid,"groups": static tokens for each client of the apiserver.
        local user uid=0
        for user in admin system:kube-controller-manager system:kube-scheduler "system:node:$NODE" \
            system:kube-proxy system:legato-e2e-coredns; do
            uid=$((uid + 1))
            local groups=""
            [[ $user == admin ]] && groups="system:masters"
            [[ $user == system:node:* ]] && groups="system:nodes"
            printf '%s,%s,%s,"%s"\n' "$(openssl rand -hex 16)" "$user" "$uid" "$groups"
        done | awk -F, '{ print $1 "," $2 "," $3 "," $4 "," $2 }' >tokens.csv
    ) >"$LOGS/pki.log" 2>&1
    local rc=$?
    set -e
    [[ $rc == 0 ]] || fail_phase
    # The fifth column repeats the user for lookups; the apiserver reads four.
    cut -d, -f1-4 "$PKI/tokens.csv" >"$PKI/apiserver-tokens.csv"
    echo ok >"$PKI/done"
}

write_kubeconfig() {
    cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: legato-e2e
  cluster:
    server: https://$NODE_IP:$API_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: user
  user:
    token: $2
contexts:
- name: legato-e2e
  context: {cluster: legato-e2e, user: user, namespace: default}
current-context: legato-e2e
EOF
    chmod 600 "$1"
}

# ------------------------------------------------------------------ configs

write_configs() {
    mkdir -p "$STATE/cni/net.d" "$STATE/cni/ipam" "$STATE/containerd" "$STATE/kubelet" "$STATE/pod-logs"
    # Pods with dnsPolicy Default read this; never the host's (outside) nameserver.
    echo "nameserver 127.0.0.1" >"$STATE/resolv.conf"

    cat >"$STATE/cni/net.d/10-legato-e2e.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "legato-e2e",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "$SERVICE_CIDR"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF

    cat >"$STATE/containerd/config.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$CONTAINERD_SOCK"

[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  # root here lacks CAP_SYS_RESOURCE: without this every pod fails in runc
  # with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
EOF

    cat >"$STATE/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
oomScoreAdj: 0
# Nothing can be pulled again here: never collect images.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
podLogsDir: $STATE/pod-logs
clusterDNS: [$DNS_IP]
clusterDomain: cluster.local
resolvConf: $STATE/resolv.conf
serializeImagePulls: false
maxPods: 110
shutdownGracePeriod: 0s
# Not the default /usr/libexec/kubernetes/...: nothing outside our state dir.
volumePluginDir: $STATE/kubelet/volume-plugins
EOF

    cat >"$STATE/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $STATE/kube-proxy.kubeconfig}
hostnameOverride: $NODE
mode: iptables
clusterCIDR: $CLUSTER_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [$NODE_IP/32]
oomScoreAdj: 0
iptables: {localhostNodePorts: false}
# 0 = leave the machine's conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF

    cat >"$STATE/Corefile" <<EOF
.:53 {
    bind $NODE_IP
    errors
    health 127.0.0.1:18080
    ready 127.0.0.1:18181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $STATE/coredns.kubeconfig legato-e2e
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
EOF
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
    for path in /var/lib/kubelet /var/log/containers /var/log/pods /run/netns /usr/libexec/kubernetes; do
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

# stop_together NAME...: TERM them all at once (each takes a second or two to
# shut down), KILL what is left after 20 s.
stop_together() {
    local name pids=()
    for name in "$@"; do
        if pid_alive "$PIDS/$name.pid"; then
            pids+=("$(cat "$PIDS/$name.pid")")
            kill "${pids[-1]}" 2>/dev/null || true
        fi
        rm -f "$PIDS/$name.pid"
    done
    [[ ${#pids[@]} -gt 0 ]] || return 0
    log "stopping $* (pids ${pids[*]})"
    local deadline=$((SECONDS + 20)) pid
    for pid in "${pids[@]}"; do
        while kill -0 "$pid" 2>/dev/null; do
            if ((SECONDS >= deadline)); then
                log "pid $pid did not stop in 20 s; killing"
                kill -9 "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.2
        done
    done
}

# kill_cgroup_procs: end every process in the kubelet's pod cgroups.
kill_cgroup_procs() {
    local procs
    procs=$(find /sys/fs/cgroup/*/kubepods* -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u || true)
    [[ -n "$procs" ]] && kill -9 $procs 2>/dev/null
    return 0
}

remove_cgroups() {
    local dir
    for dir in /sys/fs/cgroup/*/kubepods*; do
        [[ -d $dir ]] || continue
        grep -qx "$dir" "$BEFORE/paths" 2>/dev/null && continue
        find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
}

remove_containers() {
    pid_alive "$PIDS/containerd.pid" || return 0
    local ids
    ids=$(ctr_ containers list -q 2>/dev/null || true)
    [[ -z "$ids" ]] && return 0
    local id
    for id in $ids; do
        ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    for id in $ids; do
        ctr_ tasks delete -f "$id" >/dev/null 2>&1 || true
        ctr_ containers delete "$id" >/dev/null 2>&1 || true
    done
}

kill_shims() {
    local pid
    for pid in $(pgrep -f "containerd-shim.*-address $CONTAINERD_SOCK" || true); do
        kill -9 "$pid" 2>/dev/null || true
    done
}

unmount_all() {
    local target
    # Deepest first; lazily if something still holds a mount.
    for target in $(findmnt -rn -o TARGET | grep -E "^($STATE|/run/netns/cni-|/var/run/netns/cni-)" | sort -r); do
        umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || true
    done
}

remove_netns() {
    local ns
    for ns in $(ls /run/netns 2>/dev/null); do
        [[ $ns == cni-* ]] || continue
        grep -qx "$ns" "$BEFORE/netns" 2>/dev/null && continue
        ip netns delete "$ns" 2>/dev/null || rm -f "/run/netns/$ns"
    done
}

# remove_iptables: the chains the cluster made (KUBE-*, CNI-*, LEGATO-E2E)
# and every rule that jumps to them, in all tables, IPv4 and IPv6.
remove_iptables() {
    local cmd table chain rule
    for cmd in iptables ip6tables; do
        for table in filter nat mangle raw; do
            "$cmd" -t "$table" -S >/dev/null 2>&1 || continue
            # Rules in built-in chains that jump to ours.
            { "$cmd" -t "$table" -S | grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j (KUBE-|CNI-|LEGATO-E2E)' || true; } \
                | while read -r rule; do
                    eval "$cmd -t $table ${rule/#-A/-D}" 2>/dev/null || true
                done
            local chains
            chains=$("$cmd" -t "$table" -S | awk '/^-N (KUBE-|CNI-|LEGATO-E2E)/ { print $2 }')
            for chain in $chains; do
                "$cmd" -t "$table" -F "$chain" 2>/dev/null || true
            done
            for chain in $chains; do
                "$cmd" -t "$table" -X "$chain" 2>/dev/null || true
            done
        done
    done
    # iptables-nft creates the nft tables behind each iptables table on first
    # use, and kube-proxy may create its own: remove those that were not there
    # before `up` and hold no rules now.
    if command -v nft >/dev/null 2>&1 && [[ -f "$BEFORE/nft-tables" ]]; then
        local family name cmd
        { nft list tables 2>/dev/null || true; } | while read -r _ family name; do
            grep -qx "table $family $name" "$BEFORE/nft-tables" && continue
            case $family in
                ip) cmd=iptables ;;
                ip6) cmd=ip6tables ;;
                *) continue ;;
            esac
            case $name in
                kube-proxy) ;;
                filter | nat | mangle | raw)
                    "$cmd" -t "$name" -S | grep -qE '^-(A|N) ' && continue
                    ;;
                *) continue ;;
            esac
            nft delete table "$family" "$name" 2>/dev/null || true
        done
    fi
}

restore_host() {
    if [[ -f "$BEFORE/bridge" ]]; then
        :  # the bridge was there before us: leave it
    else
        ip link delete "$BRIDGE" 2>/dev/null || true
    fi
    remove_iptables
    if [[ -s "$BEFORE/sysctls" ]]; then
        local kv
        while read -r kv; do
            sysctl -qw "$kv" 2>/dev/null || log "could not restore sysctl $kv"
        done <"$BEFORE/sysctls"
    fi
    local path
    for path in /var/lib/kubelet /var/log/containers /var/log/pods /run/netns /usr/libexec/kubernetes; do
        [[ -e $path ]] || continue
        grep -qx "$path" "$BEFORE/paths" 2>/dev/null && continue
        # Only if nothing else lives there (the kubelet writes outside its root dir).
        if [[ $path == /run/netns ]]; then
            rmdir "$path" 2>/dev/null || true
        else
            rm -rf "$path"
        fi
    done
    rm -rf "$BEFORE"
}

down() {
    local start=$SECONDS
    [[ $(id -u) == 0 ]] || die "down must run as root"
    mkdir -p "$PIDS" "$LOGS"
    # The e2e MariaDB listens on the bridge address that is about to go.
    "$E2E_INFRA/db.sh" stop >/dev/null 2>&1 || true
    stop_pidfile "$PIDS/kubelet.pid" kubelet 20
    remove_containers
    kill_cgroup_procs
    # The apiserver before etcd: without etcd its shutdown hangs on storage calls.
    stop_together kube-proxy coredns kube-scheduler kube-controller-manager
    stop_together kube-apiserver
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

case "${1:-}" in
    build) "$E2E_INFRA/build.sh" all ;;
    up) up ;;
    down) down ;;
    status) status ;;
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
