"""docs/grafana/legato-server.json queries only series a real server exports, with labels they have."""

from __future__ import annotations

import json
import re
from pathlib import Path

from legato.testing import WorkflowEnvironment, find_free_port
from tests.metrics.scrape import scrape_until
from tests.metrics.workload import run_workload

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "legato-server.json"
METRIC = re.compile(r"\b((?:legato|process)_[a-z0-9_]+)\b")
SELECTOR = re.compile(r"\b((?:legato|process)_[a-z0-9_]+)\{([^}]*)\}")
MATCHER = re.compile(r"([a-z_]+)\s*(?:=~|!~|!=|=)")
ADDED_BY_PROMETHEUS = {"job", "instance"}


GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$job": ".*"}


def _queries(dashboard: dict[str, object]) -> list[str]:
    """The PromQL of every panel, then the template variables' queries (Grafana syntax)."""
    queries = []
    for panel in dashboard["panels"]:  # type: ignore[attr-defined]
        if panel["type"] == "row":
            continue
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        queries += [target["expr"] for target in panel["targets"]]
    for variable in dashboard["templating"]["list"]:  # type: ignore[index]
        if variable["type"] == "query":
            queries.append(variable["query"]["query"])
    return queries


def test_every_panel_query_is_valid_promql() -> None:
    import promql_parser

    dashboard = json.loads(DASHBOARD.read_text())
    for query in _queries(dashboard):
        if query.startswith("label_values("):
            continue  # Grafana's own function, not PromQL
        for variable, value in GRAFANA_VARIABLES.items():
            query = query.replace(variable, value)
        assert "$" not in query, f"an unknown Grafana variable in {query!r}"
        promql_parser.parse(query)  # raises on a syntax error, naming it


async def test_every_series_the_dashboard_queries_is_in_a_real_scrape() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "legato-server"
    queries = _queries(dashboard)

    port = find_free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    async with WorkflowEnvironment.start_local(extra_args=["--metrics-port", str(port)]) as env:
        await run_workload(env.client, completed=2, failed=1, slept=1)
        [scraped] = scrape_until([url], lambda s: s[0].value("legato_workflow_closed_total") >= 4)

    known = scraped.names()
    missing = sorted({name for query in queries for name in METRIC.findall(query)} - known)
    assert not missing, f"the dashboard queries series no server exports: {missing}"
    for query in queries:
        for name, matchers in SELECTOR.findall(query):
            labels = set(MATCHER.findall(matchers)) - ADDED_BY_PROMETHEUS
            series = scraped.series(name)
            if not series:
                continue  # declared but not yet incremented (e.g. store errors): labels unknown
            have = set().union(*(set(s) for s in series))
            assert labels <= have, f"{query!r}: {name} has no label {sorted(labels - have)}"
