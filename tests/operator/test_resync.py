"""The finalizer-free periodic resync: which resources each round reconciles, and with what body."""

from __future__ import annotations

from typing import Any

from legato_operator.resync import Resync


def _body(name: str, *, deleting: bool = False, generation: int = 1) -> dict[str, Any]:
    meta: dict[str, Any] = {"namespace": "team-a", "name": name, "generation": generation}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-02T00:00:00Z"
    return {"metadata": meta, "spec": {}}


class _ApiServer:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}

    def fetch(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((plural, namespace, name))


def test_each_round_reconciles_the_live_resources_with_a_fresh_read() -> None:
    api = _ApiServer()
    seen: list[tuple[str, int]] = []
    resync = Resync(fetch=api.fetch)
    resync.register(
        "legatoclusters", lambda body: seen.append((body["metadata"]["name"], body["metadata"]["generation"]))
    )
    resync.saw("legatoclusters", None, _body("a"))  # the initial listing
    resync.saw("legatoclusters", "ADDED", _body("b"))
    api.objects[("legatoclusters", "team-a", "a")] = _body("a", generation=7)  # changed since the event
    api.objects[("legatoclusters", "team-a", "b")] = _body("b")

    resync.pass_once()

    assert seen == [("a", 7), ("b", 1)]


def test_deleted_and_terminating_resources_are_left_alone() -> None:
    api = _ApiServer()
    seen: list[str] = []
    resync = Resync(fetch=api.fetch)
    resync.register("legatoclusters", lambda body: seen.append(body["metadata"]["name"]))
    for name in ("gone", "event-deleted", "terminating", "live"):
        resync.saw("legatoclusters", "MODIFIED", _body(name))
    resync.saw("legatoclusters", "DELETED", _body("event-deleted"))
    api.objects[("legatoclusters", "team-a", "terminating")] = _body("terminating", deleting=True)
    api.objects[("legatoclusters", "team-a", "live")] = _body("live")

    resync.pass_once()

    assert seen == ["live"]
    # A resource the API server no longer has is forgotten; a terminating one is kept until its DELETED event.
    assert resync.keys("legatoclusters") == {("team-a", "terminating"), ("team-a", "live")}


def test_one_failing_resource_does_not_stop_the_round() -> None:
    api = _ApiServer()
    seen: list[str] = []
    resync = Resync(fetch=api.fetch)

    def reconcile(body: dict[str, Any]) -> None:
        if body["metadata"]["name"] == "broken":
            raise RuntimeError("the API server said no")
        seen.append(body["metadata"]["name"])

    resync.register("legatonamespaces", reconcile)
    for name in ("broken", "fine"):
        resync.saw("legatonamespaces", "ADDED", _body(name))
        api.objects[("legatonamespaces", "team-a", name)] = _body(name)

    resync.pass_once()

    assert seen == ["fine"]
    assert resync.keys("legatonamespaces") == {("team-a", "broken"), ("team-a", "fine")}
