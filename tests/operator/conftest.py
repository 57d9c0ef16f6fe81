"""The operator's tests need its extra (kopf, kubernetes) and its source folder on the path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

OPERATOR_SRC = Path(__file__).resolve().parents[2] / "operator"
if str(OPERATOR_SRC) not in sys.path:
    # An editable install made before operator/ joined the packages does not see it yet.
    sys.path.insert(0, str(OPERATOR_SRC))


def spec(**overrides: object) -> dict:
    """A minimal valid LegatoCluster spec on MySQL, as the CRD's defaults leave it."""
    base: dict = {
        "version": "0.1.0",
        "imageRepository": "legato.local/legato/legato",
        "imagePullPolicy": "IfNotPresent",
        "numHistoryShards": 8,
        "shutdownGraceSeconds": 10,
        "persistence": {
            "type": "mysql",
            "mysql": {
                "host": "db.example",
                "port": 3306,
                "database": "legato",
                "user": "legato",
                "passwordSecretRef": {"name": "legato-db", "key": "password"},
            },
        },
        "frontend": {"replicas": 2},
        "history": {"replicas": 3},
        "matching": {"replicas": 1},
    }
    base.update(overrides)
    return base


@pytest.fixture
def cluster_spec() -> dict:
    return spec()
