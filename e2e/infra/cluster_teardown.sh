# How `cluster.sh down` takes the cluster apart and puts the machine back as
# `up` found it (record_before in cluster.sh writes what that was). Sourced
# by cluster.sh; uses its variables.

# stop_together [-g GRACE_S] NAME...: TERM them all at once (each takes a
# second or two to shut down), KILL what is left after GRACE_S (20) seconds.
stop_together() {
    local grace=20
    if [[ $1 == -g ]]; then
        grace=$2
        shift 2
    fi
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
    local deadline=$((SECONDS + grace)) pid
    for pid in "${pids[@]}"; do
        while kill -0 "$pid" 2>/dev/null; do
            if ((SECONDS >= deadline)); then
                log "pid $pid did not stop in $grace s; killing"
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
    for path in /var/lib/kubelet /var/log/containers /var/log/pods /run/netns /usr/libexec/kubernetes \
        /run/containerd /var/lib/cni; do
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
