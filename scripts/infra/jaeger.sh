#!/usr/bin/env bash
# Build and run a real Jaeger v2 on 127.0.0.1 for the tracing tests and CI.
#
#   scripts/infra/jaeger.sh build|start|stop|status|reset|pin
#
# build  compile Jaeger v2.13.0 (`cmd/jaeger`, the OpenTelemetry-Collector
#        based v2 binary) through the Go module proxy into
#        $LEGATO_E2E_CACHE/jaeger-v2.13.0/bin/jaeger. Skipped when cached.
#        Cold: ~30 min on 2 cores; 62 min measured with the box at load 48 (module cache shared with
#        e2e/infra/build.sh, so Kubernetes' and CoreDNS' deps are reused).
# start  build if needed, then run it detached with in-memory storage and
#        every listener on 127.0.0.1 (a v2 binary binds all interfaces unless
#        each endpoint is spelled out); waits for the health check. A second
#        start is a no-op.
# stop / status / reset   stop it / report (exit 3 when stopped) / stop and
#        forget the state dir (the binary stays cached).
# pin    re-resolve scripts/infra/jaeger/go.mod and go.sum (maintainers only).
#
# Why a wrapper module: the proxy serves the Jaeger repo's root module
# `github.com/jaegertracing/jaeger` only by its v1 tags; v1.76.0 is the same
# commit as v2.13.0 and contains `cmd/jaeger`. Its go.mod needs one replace
# (Shopify/sarama, renamed upstream) that `go install pkg@version` refuses, so
# the build goes through a module of our own with no Go files that requires
# Jaeger and carries the replace. Its go.sum is pinned in the repo.
#
# Ports (env to override): OTLP gRPC 4317 (LEGATO_JAEGER_OTLP_GRPC_PORT),
# OTLP HTTP 4318 (LEGATO_JAEGER_OTLP_HTTP_PORT), query HTTP 16686
# (LEGATO_JAEGER_QUERY_PORT; `/api/traces?service=NAME`), query gRPC 16685,
# health 13133 (LEGATO_JAEGER_HEALTH_PORT), Jaeger's own metrics 8888
# (LEGATO_JAEGER_METRICS_PORT). A source build has no web UI (placeholder
# page): tests use the query API.

INFRA_NAME=jaeger
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

JAEGER_VERSION=v2.13.0
JAEGER_MODULE_VERSION=v1.76.0
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JAEGER_DIR="$LEGATO_E2E_CACHE/jaeger-$JAEGER_VERSION"
JAEGER_BIN="$JAEGER_DIR/bin/jaeger"
RUN_DIR="${LEGATO_JAEGER_DIR:-$LEGATO_E2E_CACHE/jaeger-run}"
PIDFILE="$RUN_DIR/jaeger.pid"
LOGFILE="$RUN_DIR/jaeger.log"
CONFIG="$RUN_DIR/config.yaml"
OTLP_GRPC_PORT="${LEGATO_JAEGER_OTLP_GRPC_PORT:-4317}"
OTLP_HTTP_PORT="${LEGATO_JAEGER_OTLP_HTTP_PORT:-4318}"
QUERY_PORT="${LEGATO_JAEGER_QUERY_PORT:-16686}"
QUERY_GRPC_PORT="${LEGATO_JAEGER_QUERY_GRPC_PORT:-16685}"
HEALTH_PORT="${LEGATO_JAEGER_HEALTH_PORT:-13133}"
METRICS_PORT="${LEGATO_JAEGER_METRICS_PORT:-8888}"
START_TIMEOUT="${LEGATO_JAEGER_START_TIMEOUT:-60}"
BUILD_LOG="$LEGATO_E2E_CACHE/logs/build-jaeger.log"

# The same caches and settings as e2e/infra/build.sh: one module cache and one
# build cache for every Go build of the project.
go_env() {
    export GOMODCACHE="$LEGATO_E2E_CACHE/go/mod" GOCACHE="$LEGATO_E2E_CACHE/go/build"
    export GOTOOLCHAIN=local GOFLAGS=-modcacherw CGO_ENABLED=0 GOWORK=off
    mkdir -p "$GOMODCACHE" "$GOCACHE" "$LEGATO_E2E_CACHE/logs"
    command -v go >/dev/null 2>&1 || die "missing tool 'go': install Go 1.24 or newer (apt-get install golang, or the go.dev tarball)"
}

run_logged() {
    if ! nice -n "${LEGATO_E2E_NICE:-10}" "$@" >>"$BUILD_LOG" 2>&1; then
        tail -n 20 "$BUILD_LOG" >&2
        die "phase build-jaeger failed; see $BUILD_LOG"
    fi
}

write_wrapper_gomod() {
    cat >"$1/go.mod" <<EOF
// Written by scripts/infra/jaeger.sh pin; never go mod tidy (no Go files here).
module legato.local/infra/jaeger

go 1.24

// Upstream renamed the package to IBM/sarama; Jaeger's deps still name the
// old path at a version the proxy no longer resolves consistently.
replace github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0
EOF
}

build() {
    if [[ -x "$JAEGER_BIN" ]]; then
        log "jaeger $JAEGER_VERSION: cached in $JAEGER_BIN"
        return 0
    fi
    go_env
    # One Go build at a time per cache, shared with e2e/infra/build.sh.
    exec 9>"$LEGATO_E2E_CACHE/.build.lock"
    flock 9
    [[ -x "$JAEGER_BIN" ]] && { log "jaeger $JAEGER_VERSION: cached in $JAEGER_BIN"; return 0; }
    local start=$SECONDS work="$JAEGER_DIR/src"
    : >"$BUILD_LOG"
    log "building jaeger $JAEGER_VERSION (cold: 30-60 min on 2 cores); log: $BUILD_LOG"
    rm -rf "$work"
    mkdir -p "$work" "$JAEGER_DIR/bin"
    if [[ -s "$HERE/jaeger/go.sum" ]]; then
        cp "$HERE/jaeger/go.mod" "$HERE/jaeger/go.sum" "$work/"
    else
        write_wrapper_gomod "$work"
        (cd "$work" && run_logged go get "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_MODULE_VERSION")
    fi
    (cd "$work" && run_logged go build -trimpath \
        -ldflags "-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=$JAEGER_VERSION" \
        -o "$JAEGER_DIR/bin/jaeger.tmp" github.com/jaegertracing/jaeger/cmd/jaeger)
    mv "$JAEGER_DIR/bin/jaeger.tmp" "$JAEGER_BIN"
    rm -rf "$work"
    log "jaeger $JAEGER_VERSION built in $((SECONDS - start)) s"
}

pin() {
    go_env
    local work
    work=$(mktemp -d)
    write_wrapper_gomod "$work"
    (cd "$work" && run_logged go get "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_MODULE_VERSION")
    mkdir -p "$HERE/jaeger"
    cp "$work/go.mod" "$work/go.sum" "$HERE/jaeger/"
    rm -rf "$work"
    log "pinned $HERE/jaeger/go.mod and go.sum"
}

write_config() {
    mkdir -p "$RUN_DIR"
    cat >"$CONFIG" <<EOF
# Written by scripts/infra/jaeger.sh: in-memory storage, loopback only.
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: basic
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: $METRICS_PORT
    logs:
      level: info

extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:$HEALTH_PORT
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:$QUERY_PORT
    grpc:
      endpoint: 127.0.0.1:$QUERY_GRPC_PORT
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$OTLP_GRPC_PORT
      http:
        endpoint: 127.0.0.1:$OTLP_HTTP_PORT

processors:
  batch:
    timeout: 200ms

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
EOF
}

healthy() {
    curl -fsS "http://127.0.0.1:$HEALTH_PORT/status" >/dev/null 2>&1 \
        && port_open 127.0.0.1 "$QUERY_PORT" && port_open 127.0.0.1 "$OTLP_GRPC_PORT"
}

start() {
    if pid_alive "$PIDFILE" && healthy; then
        log "jaeger already running (pid $(cat "$PIDFILE")); query http://127.0.0.1:$QUERY_PORT"
        return 0
    fi
    build
    command -v curl >/dev/null 2>&1 || die "missing tool 'curl': apt-get install curl"
    write_config
    local t0=$SECONDS
    detach "$JAEGER_BIN" --config "$CONFIG" >"$LOGFILE" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    WAIT_PIDFILE="$PIDFILE" wait_until "$START_TIMEOUT" "jaeger health on :$HEALTH_PORT" healthy \
        || { tail -n 30 "$LOGFILE" >&2; die "jaeger did not start; see $LOGFILE"; }
    log "jaeger $JAEGER_VERSION up in $((SECONDS - t0)) s (pid $(cat "$PIDFILE")): OTLP 127.0.0.1:$OTLP_GRPC_PORT (gRPC) / :$OTLP_HTTP_PORT (HTTP), query http://127.0.0.1:$QUERY_PORT"
}

status() {
    if pid_alive "$PIDFILE" && healthy; then
        log "jaeger running (pid $(cat "$PIDFILE")); query http://127.0.0.1:$QUERY_PORT"
        return 0
    fi
    log "jaeger stopped"
    return 3
}

case "${1:-}" in
    build) build ;;
    start) start ;;
    stop) stop_pidfile "$PIDFILE" jaeger 15 ;;
    status) status ;;
    reset) stop_pidfile "$PIDFILE" jaeger 15; rm -rf "$RUN_DIR" ;;
    pin) pin ;;
    *) die "usage: $0 build|start|stop|status|reset|pin" ;;
esac
