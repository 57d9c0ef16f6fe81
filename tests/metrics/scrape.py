"""Scraping a real process's ``/metrics`` over HTTP, and reading values out of it."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    """One scrape: every sample by name, with its labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: list[tuple[str, dict[str, str], float]] = []
        self.families: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            self.families[family.name] = family.type
            for sample in family.samples:
                self.samples.append((sample.name, dict(sample.labels), sample.value))

    def names(self) -> set[str]:
        """Every series name this scrape declares, with or without samples yet.

        A labelled counter nobody incremented has no sample but is declared
        (``# TYPE``); its name is known all the same.
        """
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_count", "_sum"),
            "summary": ("_count", "_sum"),
        }
        declared = {
            name + suffix for name, kind in self.families.items() for suffix in suffixes.get(kind, ("",))
        }
        return declared | {name for name, _, _ in self.samples}

    def value(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples whose labels include ``labels`` (0 if none)."""
        return sum(
            value
            for sample_name, sample_labels, value in self.samples
            if sample_name == name and all(sample_labels.get(k) == v for k, v in labels.items())
        )

    def series(self, name: str) -> list[dict[str, str]]:
        return [labels for sample_name, labels, _ in self.samples if sample_name == name]


def scrape(url: str) -> Scrape:
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200, f"{url} answered {response.status}"
        assert response.headers.get_content_type() == "text/plain", response.headers["Content-Type"]
        return Scrape(response.read().decode())


def scrape_until(
    urls: list[str], condition: Callable[[list[Scrape]], bool], *, within_s: float = 20.0
) -> list[Scrape]:
    """Scrape ``urls`` until ``condition`` holds for the scrapes (counts settle after a run closes)."""
    deadline = time.monotonic() + within_s
    while True:
        scrapes = [scrape(url) for url in urls]
        if condition(scrapes) or time.monotonic() > deadline:
            return scrapes
        time.sleep(0.2)
