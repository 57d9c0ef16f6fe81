# Shared helpers for the scripts/infra/*.sh launchers. Source it; don't run it.
#
# Every launcher keeps what it downloads or builds under LEGATO_E2E_CACHE
# (default ~/.cache/legato-e2e), keyed by version, so a second run starts from
# the cache; and its running state (data, logs, pid) under a per-component dir.

set -euo pipefail

LEGATO_E2E_CACHE="${LEGATO_E2E_CACHE:-$HOME/.cache/legato-e2e}"
mkdir -p "$LEGATO_E2E_CACHE"

log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "${INFRA_NAME:-infra}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# port_open HOST PORT: true if a TCP connect succeeds.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# pid_alive PIDFILE: true if the file names a live process.
pid_alive() {
    [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

# wait_until DEADLINE_S DESCRIPTION CMD...: poll CMD every 0.5 s until it succeeds.
# Gives up (returns 1) at the deadline, or at once if WAIT_PIDFILE names a dead process.
wait_until() {
    local deadline=$(( $(date +%s) + $1 )) what=$2
    shift 2
    until "$@"; do
        if [[ -n "${WAIT_PIDFILE:-}" ]] && ! pid_alive "$WAIT_PIDFILE"; then
            log "process died while waiting for $what"
            return 1
        fi
        if (( $(date +%s) >= deadline )); then
            log "timed out waiting for $what"
            return 1
        fi
        sleep 0.5
    done
}

# detach CMD...: become CMD in a session of its own, holding none of the file
# descriptors above 2 that the caller had open. Run it in the background with
# the daemon's redirections: `detach CMD ARGS >LOG 2>&1 </dev/null &`; $! is
# then the daemon's pid. Without this a daemon keeps whatever its starter held,
# such as a lock taken with `flock LOCK scripts/...` or the shared build lock,
# for as long as it runs, and everyone waiting on that lock waits with it.
detach() {
    local fd
    for fd in $(ls "/proc/$BASHPID/fd"); do
        if (( fd > 2 )); then
            eval "exec $fd>&-"
        fi
    done
    exec setsid nohup "$@"
}

# stop_pidfile PIDFILE NAME [GRACE_S]: TERM the process, KILL it after the grace period.
stop_pidfile() {
    local pidfile=$1 name=$2 grace=${3:-30}
    if ! pid_alive "$pidfile"; then
        log "$name is not running"
        rm -f "$pidfile"
        return 0
    fi
    local pid
    pid=$(cat "$pidfile")
    log "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    local deadline=$(( $(date +%s) + grace ))
    while kill -0 "$pid" 2>/dev/null; do
        if (( $(date +%s) >= deadline )); then
            log "$name did not stop in ${grace}s; killing"
            kill -9 "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
    rm -f "$pidfile"
}
