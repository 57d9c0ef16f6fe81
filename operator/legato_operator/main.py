"""``legato-operator``: run the kopf operator for LegatoCluster and LegatoNamespace.

    legato-operator                      # every namespace (a ClusterRole; see operator/deploy/)
    legato-operator --namespace team-a   # only these namespaces
    legato-operator --standalone         # no peering (a developer's machine)

Only one replica is active at a time: kopf's peering (the ClusterKopfPeering
named by ``--peering``, created at start when missing; its CRD is in
``operator/deploy/peering.yaml``) makes a second replica pause while the
first is alive. Watching only some namespaces runs standalone (the
Deployment's single replica and Recreate strategy are then the guarantee),
and with kopf's cluster scanning off, so a namespaced Role per watched
namespace is all the RBAC it needs (no cluster-wide read of CRDs or
namespaces). The liveness endpoint answers on ``--liveness`` (``/healthz``);
logs are JSON lines unless ``--log-format plain``, at ``--log-level``
(``debug`` is kopf's verbose mode; ``--verbose`` is the same).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

import kopf

DEFAULT_PEERING = "legato-operator"
DEFAULT_LIVENESS = "http://0.0.0.0:8080/healthz"
LOG_LEVELS = ("debug", "info", "warning", "error")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="legato-operator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--namespace", "-n", action="append", default=[], help="watch only this namespace")
    parser.add_argument("--peering", default=DEFAULT_PEERING, help="kopf peering object name")
    parser.add_argument(
        "--standalone", action="store_true", help="no peering (one replica guaranteed elsewhere)"
    )
    parser.add_argument("--liveness", default=DEFAULT_LIVENESS, help="liveness endpoint URL ('' for none)")
    parser.add_argument("--log-format", choices=["json", "plain"], default="json")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    parser.add_argument("--verbose", action="store_true", help="the same as --log-level debug")
    return parser.parse_args(argv)


def ensure_peering(name: str) -> None:
    """Create the ClusterKopfPeering object kopf needs (it does not create one itself)."""
    from kubernetes import client

    from legato_operator.kube import load_config

    load_config()
    api = client.CustomObjectsApi()
    body = {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": name}}
    try:
        api.create_cluster_custom_object("kopf.dev", "v1", "clusterkopfpeerings", body)
    except client.ApiException as error:
        if error.status != 409:  # 409: it exists already
            raise SystemExit(
                f"legato-operator: cannot create ClusterKopfPeering {name} ({error.status} {error.reason}); "
                "apply operator/deploy/peering.yaml, or run with --standalone"
            ) from None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    standalone = args.standalone or bool(args.namespace)
    if not standalone:
        ensure_peering(args.peering)
    level = "debug" if args.verbose else args.log_level
    kopf.configure(
        verbose=level == "debug",
        quiet=level in ("warning", "error"),
        log_format=kopf.LogFormat.JSON if args.log_format == "json" else kopf.LogFormat.FULL,
        log_refkey="object",
    )
    logging.getLogger().setLevel(level.upper())
    import legato_operator.handlers  # noqa: F401 - registers the handlers

    if args.namespace:

        @kopf.on.startup()
        def no_cluster_scanning(settings: kopf.OperatorSettings, **_: Any) -> None:
            # Watching named namespaces needs no list/watch of CRDs or
            # namespaces cluster-wide; without this kopf tries and warns.
            settings.scanning.disabled = True

    asyncio.run(
        kopf.operator(
            clusterwide=not args.namespace,
            namespaces=args.namespace,
            standalone=standalone,
            peering_name=None if standalone else args.peering,
            liveness_endpoint=args.liveness or None,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
