"""The compose setup's Prometheus config and Grafana dashboard ask for metrics the workers serve."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from streams.worker.metrics import REGISTRY

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _served() -> set[str]:
    """Every sample name /metrics can carry (counters' _total, histograms' _bucket/_count/_sum, ...)."""
    names = set()
    for family in REGISTRY.collect():
        kind = family.type
        names.add(family.name)
        names.update(
            {
                "counter": [f"{family.name}_total"],
                "histogram": [f"{family.name}_{s}" for s in ("bucket", "count", "sum")],
            }.get(kind, [])
        )
    return names


def test_every_metric_on_the_dashboard_is_served():
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "integrity.json").read_text())
    asked = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bintegrity_[a-z_]+", target["expr"])
    }
    assert asked, "the dashboard queries nothing"
    assert asked <= _served(), asked - _served()
    assert {panel["datasource"]["uid"] for panel in dashboard["panels"]} == {"prometheus"}


def test_prometheus_scrapes_the_workers_metrics_port():
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["dns_sd_configs"][0]["port"] == 6066  # INTEGRITY_WEB_PORT's default, the compose workers'
    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in compose["services"]["prometheus"]["volumes"]
