"""Version policy, conditions and the health response decoder: small pure pieces."""

from __future__ import annotations

import pytest

from legato_operator import conditions, health, versions


@pytest.mark.parametrize(
    ("running", "wanted", "reason"),
    [
        pytest.param(None, "0.1.0", "Allowed", id="first-install"),
        pytest.param("0.1.0", "0.1.0", "Allowed", id="same"),
        pytest.param("0.1.0", "0.1.5", "Allowed", id="patch-up"),
        pytest.param("0.1.5", "0.1.0", "Allowed", id="patch-down"),
        pytest.param("0.1.0", "0.2.0", "Allowed", id="one-minor"),
        pytest.param("0.1.0", "0.3.0", "SkipsMinorVersions", id="two-minors"),
        pytest.param("0.2.0", "0.1.9", "Downgrade", id="minor-down"),
        pytest.param("0.9.0", "1.0.0", "MajorVersionChange", id="major"),
        pytest.param("0.1.0", "latest", "BadVersion", id="not-semver"),
    ],
)
def test_upgrade_policy(running: str | None, wanted: str, reason: str) -> None:
    verdict = versions.check_upgrade(running, wanted)
    assert verdict.reason == reason
    assert verdict.allowed is (reason == "Allowed")
    if not verdict.allowed:
        assert wanted in verdict.message


def test_conditions_keep_their_transition_time_while_unchanged() -> None:
    first = conditions.merge(
        None,
        [conditions.Condition("Ready", False, "Starting", "m")],
        generation=1,
        now="2026-01-01T00:00:00Z",
    )
    same = conditions.merge(
        first,
        [conditions.Condition("Ready", False, "Starting", "m2")],
        generation=2,
        now="2026-01-01T00:01:00Z",
    )
    assert same[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert same[0]["observedGeneration"] == 2
    flipped = conditions.merge(
        same,
        [conditions.Condition("Ready", True, "AllRolesServing", "ok")],
        generation=2,
        now="2026-01-01T00:02:00Z",
    )
    assert flipped[0]["status"] == "True"
    assert flipped[0]["lastTransitionTime"] == "2026-01-01T00:02:00Z"


@pytest.mark.parametrize(
    ("response", "status"),
    [
        pytest.param(b"", "UNKNOWN", id="zero-left-out"),
        pytest.param(b"\x08\x01", "SERVING", id="serving"),
        pytest.param(b"\x08\x02", "NOT_SERVING", id="not-serving"),
        pytest.param(b"\x12\x00", "UNDECODABLE(1200)", id="garbage"),
    ],
)
def test_decode_health_status(response: bytes, status: str) -> None:
    assert health.decode_status(response) == status


def test_health_check_of_a_closed_port_is_unreachable_not_an_exception() -> None:
    assert health.check("127.0.0.1:1", timeout=0.5).startswith("UNREACHABLE")
