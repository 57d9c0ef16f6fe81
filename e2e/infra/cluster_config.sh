# The files the e2e cluster's daemons read: certificates, static tokens and
# kubeconfigs (pki), and the CNI, containerd, kubelet, kube-proxy and CoreDNS
# configurations (write_configs). Sourced by cluster.sh; uses its variables.

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
