"""A stand-in for ``legato-server start-dev`` that only answers gRPC health checks.

Run by tests/bench/test_server.py in place of the real server so the harness's
process management is tested on its own. ``--fail`` exits at once with a
message; ``--status NOT_SERVING`` never becomes ready.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


async def serve(args: argparse.Namespace) -> None:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    await servicer.set("", health_pb2.HealthCheckResponse.ServingStatus.Value(args.status))
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"{args.ip}:{args.port}")
    await server.start()
    print(f"fake start-dev on {args.ip}:{args.port} db={args.db_file} in_memory={args.in_memory}", flush=True)
    await server.wait_for_termination()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["start-dev"])
    parser.add_argument("--ip")
    parser.add_argument("--port", type=int)
    parser.add_argument("--db-file")
    parser.add_argument("--in-memory", action="store_true")
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("--status", default="SERVING")
    args = parser.parse_args()
    if args.fail:
        print("cannot open the database: on purpose", flush=True)
        sys.exit(7)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
