#!/usr/bin/env bash
# Run a real MariaDB (Debian's 10.11) on 127.0.0.1:3306 for tests and CI.
#
#   scripts/infra/mariadb.sh start|stop|status|reset
#
# `start` installs mariadb-server with apt if mariadbd is missing, creates a
# private data directory (not the system /var/lib/mysql, so the machine's own
# MariaDB, if any, is left alone) with mariadb-install-db, runs mariadbd in
# the background bound to 127.0.0.1 only, waits for its socket and TCP port,
# and makes sure the user legato/legato exists with every privilege on the
# databases `legato%` (the store and the tests create databases with that
# prefix). Every step is idempotent: a second `start` is a no-op.
#
# Durability is relaxed (innodb_flush_log_at_trx_commit=2, no doublewrite):
# this is a test server; transactions are still atomic and isolated.
#
# Environment: LEGATO_MARIADB_PORT (3306), LEGATO_MARIADB_DIR
# (default $LEGATO_E2E_CACHE/mariadb), LEGATO_MARIADB_START_TIMEOUT (60 s),
# LEGATO_MARIADB_USER / LEGATO_MARIADB_PASSWORD (legato / legato),
# LEGATO_MARIADB_BIND (127.0.0.1; the e2e cluster's instance uses the pod
# bridge 10.244.0.1, see e2e/infra/db.sh) and LEGATO_MARIADB_CLIENT_HOST (a
# host pattern the user may also connect from, e.g. 10.244.0.%).

INFRA_NAME=mariadb
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PORT="${LEGATO_MARIADB_PORT:-3306}"
BIND="${LEGATO_MARIADB_BIND:-127.0.0.1}"
CLIENT_HOST="${LEGATO_MARIADB_CLIENT_HOST:-}"
RUN_DIR="${LEGATO_MARIADB_DIR:-$LEGATO_E2E_CACHE/mariadb}"
START_TIMEOUT="${LEGATO_MARIADB_START_TIMEOUT:-60}"
DB_USER="${LEGATO_MARIADB_USER:-legato}"
DB_PASSWORD="${LEGATO_MARIADB_PASSWORD:-legato}"
DATADIR="$RUN_DIR/data"
SOCKET="$RUN_DIR/mysqld.sock"
PIDFILE="$RUN_DIR/mariadbd.pid"
LOGFILE="$RUN_DIR/mariadbd.log"

find_binary() {
    local name
    for name in "$@"; do
        if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
        if [[ -x "/usr/sbin/$name" ]]; then echo "/usr/sbin/$name"; return 0; fi
    done
    return 1
}

install() {
    if find_binary mariadbd mysqld >/dev/null; then
        return 0
    fi
    log "installing mariadb-server with apt (once)"
    export DEBIAN_FRONTEND=noninteractive
    # The package lists may be missing on a fresh machine; refresh them when the
    # package is unknown, then install.
    if ! apt-cache show mariadb-server >/dev/null 2>&1; then
        apt-get -o DPkg::Lock::Timeout=900 update -qq
    fi
    apt-get -o DPkg::Lock::Timeout=900 install -y -qq mariadb-server >/dev/null || {
        apt-get -o DPkg::Lock::Timeout=900 update -qq && apt-get -o DPkg::Lock::Timeout=900 install -y -qq mariadb-server >/dev/null
    } || die "apt-get install mariadb-server failed"
}

run_as() {
    # mariadbd refuses to run as root unless told; the data dir is ours anyway.
    id -un
}

init_datadir() {
    if [[ -d "$DATADIR/mysql" ]]; then
        return 0
    fi
    log "initializing data directory $DATADIR"
    rm -rf "$DATADIR"
    mkdir -p "$DATADIR"
    local installer
    installer=$(find_binary mariadb-install-db mysql_install_db) || die "mariadb-install-db not found"
    "$installer" --no-defaults --datadir="$DATADIR" --user="$(run_as)" \
        --auth-root-authentication-method=socket --skip-test-db >"$RUN_DIR/install-db.log" 2>&1 \
        || { cat "$RUN_DIR/install-db.log" >&2; die "mariadb-install-db failed"; }
}

client() {
    local cli
    cli=$(find_binary mariadb mysql) || die "mariadb client not found"
    "$cli" --no-defaults --socket="$SOCKET" -uroot "$@"
}

ensure_user() {
    client <<SQL
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`legato%\`.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`legato%\`.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
SQL
    if [[ -n "$CLIENT_HOST" ]]; then
        client <<SQL
CREATE USER IF NOT EXISTS '$DB_USER'@'$CLIENT_HOST' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB_USER'@'$CLIENT_HOST' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`legato%\`.* TO '$DB_USER'@'$CLIENT_HOST';
FLUSH PRIVILEGES;
SQL
    fi
}

start() {
    if pid_alive "$PIDFILE" && port_open "$BIND" "$PORT"; then
        ensure_user
        log "already running (pid $(cat "$PIDFILE")) on $BIND:$PORT"
        return 0
    fi
    if ! pid_alive "$PIDFILE" && port_open "$BIND" "$PORT"; then
        log "something else already listens on $BIND:$PORT; using it (user $DB_USER must exist there)"
        return 0
    fi
    install
    mkdir -p "$RUN_DIR"
    init_datadir
    if ! pid_alive "$PIDFILE"; then
        local server
        server=$(find_binary mariadbd mysqld) || die "mariadbd not found"
        log "starting $server (log: $LOGFILE)"
        # mariadbd writes its own pid file; we keep the launcher's pid, which is
        # the server's (no wrapper).
        detach "$server" --no-defaults \
            --user="$(run_as)" \
            --datadir="$DATADIR" --socket="$SOCKET" --pid-file="$RUN_DIR/mariadbd.server.pid" \
            --bind-address="$BIND" --port="$PORT" --skip-name-resolve \
            --log-error="$LOGFILE" \
            --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
            --default-storage-engine=InnoDB \
            --innodb-buffer-pool-size=256M --innodb-log-file-size=128M \
            --innodb-flush-log-at-trx-commit=2 --innodb-doublewrite=0 \
            --max-connections=500 --transaction-isolation=READ-COMMITTED \
            >/dev/null 2>&1 </dev/null &
        echo $! >"$PIDFILE"
    fi
    WAIT_PIDFILE="$PIDFILE" wait_until "$START_TIMEOUT" "socket $SOCKET" test -S "$SOCKET" \
        && WAIT_PIDFILE="$PIDFILE" wait_until "$START_TIMEOUT" "$BIND:$PORT" port_open "$BIND" "$PORT" \
        || { tail -n 30 "$LOGFILE" >&2 || true; die "MariaDB did not come up; log: $LOGFILE"; }
    ensure_user
    log "ready on $BIND:$PORT (pid $(cat "$PIDFILE")), user $DB_USER"
}

status() {
    if pid_alive "$PIDFILE"; then
        echo "mariadb: running (pid $(cat "$PIDFILE")) on $BIND:$PORT, socket $SOCKET"
    elif port_open "$BIND" "$PORT"; then
        echo "mariadb: port $BIND:$PORT open (not started by this script)"
    else
        echo "mariadb: stopped"
        return 3
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop_pidfile "$PIDFILE" mariadb 60 ;;
    status) status ;;
    reset) stop_pidfile "$PIDFILE" mariadb 60; rm -rf "$RUN_DIR"; log "wiped $RUN_DIR" ;;
    *) echo "usage: $0 start|stop|status|reset" >&2; exit 2 ;;
esac
