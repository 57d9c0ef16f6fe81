"""The e2e cluster's containment, seen from inside a pod (without sending traffic outside).

A pod must have no default route (only the pod subnet and the service
range), use the cluster DNS, resolve cluster names and nothing else (CoreDNS
runs without ``forward``), and run the Legato image as its non-root user on a
read-only root filesystem.
"""

from __future__ import annotations

import json

from e2e import manifests
from e2e.k8s import Kube

PROBE = r"""
import json, os, socket
routes = []
with open("/proc/net/route") as table:
    next(table)
    for line in table:
        fields = line.split()
        dest, mask = (socket.inet_ntoa(bytes.fromhex(f)[::-1]) for f in (fields[1], fields[7]))
        routes.append(f"{dest}/{mask}")
def resolves(name):
    try:
        return socket.gethostbyname(name)
    except OSError:
        return None
try:
    open("/opt/legato/probe", "w")
    writable = True
except OSError:
    writable = False
print(json.dumps({
    "routes": routes,
    "nameservers": [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")],
    "kubernetes": resolves("kubernetes.default.svc.cluster.local"),
    "outside": resolves("example.com."),
    "uid": os.getuid(),
    "root_writable": writable,
}))
"""


def test_pod_has_no_way_out_and_cluster_dns(namespace: Kube, legato_image: str) -> None:
    job = manifests.app_job(name="probe", image=legato_image, config_map=None, args=["python", "-c", PROBE])
    namespace.apply([job])
    namespace.wait_for_job("probe", timeout=90)
    report = json.loads(namespace.logs("job/probe").strip().splitlines()[-1])

    assert "0.0.0.0/0.0.0.0" not in report["routes"], report["routes"]
    assert "10.96.0.0/255.255.0.0" in report["routes"], report["routes"]
    assert report["nameservers"] == ["10.96.0.10"]
    assert report["kubernetes"] == "10.96.0.1"
    assert report["outside"] is None
    assert report["uid"] == manifests.APP_UID
    assert report["root_writable"] is False
