"""The upgrade policy: which version changes the operator carries out, and which it refuses.

A LegatoCluster moves one minor version at a time (0.1.x -> 0.2.y, never
0.1 -> 0.3), never to another major version, and never backwards below what it
runs (a newer schema may already be in the database, and an older server would
refuse it or, worse, misread it). Patch versions move freely both ways within a
minor. A refused change is reported and nothing of it is applied: the running
Deployments keep their version until the spec asks for an allowed one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str
    """A condition reason: ``Allowed``, ``SkipsMinorVersions``, ``Downgrade``, ``MajorVersionChange``, ``BadVersion``."""
    message: str


def parse(version: str) -> tuple[int, int, int]:
    major, minor, patch = version.split(".")
    return int(major), int(minor), int(patch)


def check_upgrade(running: str | None, wanted: str) -> Verdict:
    """May a cluster running ``running`` (None: nothing yet) move to ``wanted``?"""
    try:
        target = parse(wanted)
    except ValueError:
        return Verdict(False, "BadVersion", f"version {wanted!r} is not MAJOR.MINOR.PATCH")
    if running is None or running == wanted:
        return Verdict(True, "Allowed", f"version {wanted}")
    current = parse(running)
    if target[0] != current[0]:
        return Verdict(
            False,
            "MajorVersionChange",
            f"refusing {running} -> {wanted}: a major version change needs a new LegatoCluster "
            f"(set version back to {running})",
        )
    if target[1] < current[1]:
        return Verdict(
            False,
            "Downgrade",
            f"refusing {running} -> {wanted}: the database may already hold {running}'s schema; "
            f"set version back to {running} or a later {current[0]}.{current[1]}.x / {current[0]}.{current[1] + 1}.x",
        )
    if target[1] > current[1] + 1:
        step = f"{current[0]}.{current[1] + 1}"
        return Verdict(
            False,
            "SkipsMinorVersions",
            f"refusing {running} -> {wanted}: upgrade one minor version at a time; go to {step}.x first",
        )
    return Verdict(True, "Allowed", f"upgrade {running} -> {wanted}")
