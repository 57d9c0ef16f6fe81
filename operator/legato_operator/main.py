"""``legato-operator``: run the kopf operator for LegatoCluster and LegatoNamespace.

    legato-operator                      # every namespace (a ClusterRole; see operator/deploy/)
    legato-operator --namespace team-a   # only these namespaces
    legato-operator --standalone         # no peering (a developer's machine)

Only one replica is active at a time: kopf's peering (the ClusterKopfPeering
or KopfPeering object named by ``--peering``) makes a second replica pause
while the first is alive. The liveness endpoint answers on
``--liveness`` (``/healthz``); logs are JSON lines unless ``--log-format
plain``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import kopf

DEFAULT_PEERING = "legato-operator"
DEFAULT_LIVENESS = "http://0.0.0.0:8080/healthz"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="legato-operator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--namespace", "-n", action="append", default=[], help="watch only this namespace")
    parser.add_argument("--peering", default=DEFAULT_PEERING, help="kopf peering object name")
    parser.add_argument(
        "--standalone", action="store_true", help="no peering (one replica guaranteed elsewhere)"
    )
    parser.add_argument("--liveness", default=DEFAULT_LIVENESS, help="liveness endpoint URL ('' for none)")
    parser.add_argument("--log-format", choices=["json", "plain"], default="json")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    kopf.configure(
        verbose=args.verbose,
        log_format=kopf.LogFormat.JSON if args.log_format == "json" else kopf.LogFormat.FULL,
        log_refkey="object",
    )
    import legato_operator.handlers  # noqa: F401 - registers the handlers

    asyncio.run(
        kopf.operator(
            clusterwide=not args.namespace,
            namespaces=args.namespace,
            standalone=args.standalone,
            peering_name=None if args.standalone else args.peering,
            liveness_endpoint=args.liveness or None,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
