#!/usr/bin/env bash
# The main job on a fresh machine: install Legato, start the dev server
# (embedded SQLite, nothing else needed), run the hello sample workflow
# against it, and stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[server]'

port="${LEGATO_PORT:-7233}"
db="$(mktemp -d)/legato-demo.db"
legato-server start-dev --port "$port" --db-file "$db" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT

python3 - "$port" <<'PY'
import sys, time, grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
deadline = time.monotonic() + 30
channel = grpc.insecure_channel(f"127.0.0.1:{sys.argv[1]}")
stub = health_pb2_grpc.HealthStub(channel)
while True:
    try:
        if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
            break
    except grpc.RpcError:
        pass
    if time.monotonic() > deadline:
        sys.exit("dev server did not become ready within 30s")
    time.sleep(0.1)
PY

LEGATO_ADDRESS="127.0.0.1:$port" python3 samples/hello_activity.py
