"""A small, synchronous kubectl driver for the end-to-end tests.

Everything goes through the ``kubectl`` the e2e cluster built (never one on
PATH: it may be a different version or a stub), with the cluster's admin
kubeconfig. Objects are plain dicts, applied as JSON on stdin, so manifests
are Python that tests can parametrise (see ``e2e/manifests.py``).

Waiting is always on a condition with a deadline (``wait_until``); a timeout
says what was awaited and the last state seen, so a failure explains itself.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

POLL_INTERVAL_S = 0.5


class WaitTimeout(AssertionError):
    """A condition did not hold before its deadline."""


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    describe: Callable[[], str] | None = None,
    interval: float = POLL_INTERVAL_S,
) -> T:
    """Poll ``condition`` until it returns a truthy value (returned) or ``timeout`` s pass.

    ``describe`` adds the current state to the timeout's message.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            state = f"; last state: {describe()}" if describe is not None else ""
            raise WaitTimeout(f"timed out after {timeout:.0f} s waiting for {what}{state}")
        time.sleep(interval)


class KubectlError(RuntimeError):
    """kubectl exited non-zero; the message carries its stderr."""


@dataclass(frozen=True)
class Kube:
    """kubectl bound to one cluster (``kubeconfig``) and, optionally, one namespace."""

    kubectl: Path
    kubeconfig: Path
    namespace: str | None = None

    def in_namespace(self, namespace: str) -> Kube:
        return Kube(self.kubectl, self.kubeconfig, namespace)

    def run(self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 60) -> str:
        command = [str(self.kubectl), "--kubeconfig", str(self.kubeconfig)]
        if self.namespace is not None:
            command += ["--namespace", self.namespace]
        command += list(args)
        result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise KubectlError(
                f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}"
            )
        return result.stdout

    def apply(self, objects: Iterable[dict[str, Any]]) -> None:
        """Create or update ``objects`` (server-side apply, so re-applying is harmless)."""
        items = list(objects)
        document = {"apiVersion": "v1", "kind": "List", "items": items}
        self.run("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=json.dumps(document))

    def get(self, kind: str, name: str | None = None, *, selector: str | None = None) -> Any:
        """The object (or, without ``name``, the list's items) as JSON; None when not found."""
        args = ["get", kind, "-o", "json"]
        if name is not None:
            args.insert(2, name)
        if selector is not None:
            args += ["-l", selector]
        out = self.run(*args, check=False)
        if not out.strip():
            return None
        data = json.loads(out)
        return data["items"] if name is None else data

    def logs(self, target: str, *, container: str | None = None, previous: bool = False) -> str:
        args = ["logs", target, "--tail=-1"]
        if container:
            args += ["-c", container]
        if previous:
            args.append("--previous")
        return self.run(*args, check=False)

    # ------------------------------------------------------------ conditions

    def pods(self, selector: str) -> list[dict[str, Any]]:
        return self.get("pods", selector=selector) or []

    def ready_pods(self, selector: str) -> list[dict[str, Any]]:
        """Running, Ready and not being deleted."""
        return [
            pod
            for pod in self.pods(selector)
            if not pod["metadata"].get("deletionTimestamp")
            and any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in pod.get("status", {}).get("conditions", [])
            )
        ]

    def describe_pods(self, selector: str | None = None) -> str:
        pods = self.get("pods", selector=selector) or []
        parts = []
        for pod in pods:
            status = pod.get("status", {})
            waiting = [
                f"{c['name']}: {next(iter(c.get('state', {}).values()), {}).get('reason', '?')}"
                for c in status.get("containerStatuses", []) + status.get("initContainerStatuses", [])
            ]
            parts.append(f"{pod['metadata']['name']} {status.get('phase')} [{', '.join(waiting)}]")
        return "; ".join(parts) or "no pods"

    def wait_for_ready_pods(
        self, selector: str, *, count: int = 1, timeout: float = 120
    ) -> list[dict[str, Any]]:
        return wait_until(
            lambda: pods if len(pods := self.ready_pods(selector)) >= count else None,
            timeout=timeout,
            what=f"{count} ready pod(s) {selector!r} in {self.namespace}",
            describe=lambda: self.describe_pods(selector),
        )

    def wait_for_job(self, name: str, *, timeout: float = 300) -> dict[str, Any]:
        """Wait until Job ``name`` completes; fail at once (with its logs) if it fails."""

        def finished() -> dict[str, Any] | None:
            job = self.get("job", name)
            conditions = {c["type"]: c["status"] for c in (job or {}).get("status", {}).get("conditions", [])}
            if conditions.get("Failed") == "True":
                raise AssertionError(f"job {name} failed; its log:\n{self.logs(f'job/{name}')[-4000:]}")
            return job if conditions.get("Complete") == "True" else None

        return wait_until(
            finished,
            timeout=timeout,
            what=f"job {name} in {self.namespace} to complete",
            describe=lambda: self.describe_pods(f"job-name={name}"),
        )

    def events(self) -> str:
        return self.run("get", "events", "--sort-by=.lastTimestamp", check=False)
