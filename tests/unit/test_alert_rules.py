"""The alert rules (deploy/prometheus/alerts.yml) are valid, each fires on the input its unit test gives and
stays silent short of it (`promtool test rules`), and they ask for the job Prometheus scrapes and metrics
the workers serve. promtool is Debian's `prometheus` package, which scripts/setup.sh installs as root."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.worker.metrics import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts.test.yml"


def _promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (scripts/setup.sh installs it as root: apt-get install prometheus)")
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd)


def _alerts() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def test_the_rules_are_valid():
    done = _promtool("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in done.stdout


def test_each_alert_fires_and_stays_silent_as_its_test_says():
    done = _promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_is_tested_firing_and_silent():
    cases = [case for test in yaml.safe_load(RULE_TESTS.read_text())["tests"] for case in test["alert_rule_test"]]
    for alert in _alerts():
        name = alert["alert"]
        outcomes = {bool(case["exp_alerts"]) for case in cases if case["alertname"] == name}
        assert outcomes == {True, False}, f"{name}: tested {'firing' if True in outcomes else 'silent'} only"


def _served() -> set[str]:
    """Every sample name /metrics can carry (counters' _total, histograms' _bucket/_count/_sum)."""
    names = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        suffixes = {"counter": ["total"], "histogram": ["bucket", "count", "sum"]}.get(family.type, [])
        names.update(f"{family.name}_{suffix}" for suffix in suffixes)
    return names


def test_the_alerts_ask_for_metrics_the_workers_serve():
    asked = {name for alert in _alerts() for name in re.findall(r"\bintegrity_[a-z_]+", alert["expr"])}
    assert asked, "the rules query nothing of ours"
    assert asked <= _served(), asked - _served()


def test_the_alerts_name_the_job_prometheus_scrapes():
    compose = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    k8s = yaml.safe_load((ROOT / "deploy" / "k8s" / "base" / "prometheus-config.yaml").read_text())
    jobs = {
        job["job_name"]
        for config in (compose, yaml.safe_load(k8s["data"]["prometheus.yml"]))
        for job in config["scrape_configs"]
    }
    named = {job for alert in _alerts() for job in re.findall(r'job="([^"]+)"', alert["expr"])}
    assert named == jobs == {"integrity-worker"}
    for alert in _alerts():
        assert 'job="integrity-worker"' in alert["expr"], f"{alert['alert']}: another job's series would count"


def test_the_compose_prometheus_configuration_is_valid():
    # Only the compose one: Debian's promtool is built without Kubernetes service discovery and refuses
    # kubernetes_sd_configs; the Kubernetes job is checked by tests/unit/test_k8s_manifests.py instead.
    done = _promtool("check", "config", "--syntax-only", str(ROOT / "deploy" / "prometheus.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
