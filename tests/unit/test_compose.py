"""docker-compose.yml holds to the code: pinned images, one image built, commands the CLI takes, variables that
are settings, ports and health checks the services serve, Prometheus scraping what the workers serve, mounts that
exist. No Docker engine runs here: the file is read with PyYAML and, where a Compose is installed, also rendered
by it (``config``) and compared."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from streams.cli.registry import build_parser
from streams.settings import declared, is_loopback, load_settings, web_exposure
from tests.unit.test_dockerfile import command, healthcheck, image_env, served_worker_paths

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docker-compose.yml").read_text()
OURS = "interview-integrity:local"
DEFAULTS = {d.env: str(d.default) for d in declared()}
LONG_RUNNING = {"unless-stopped", "always"}


def _interpolated(value: Any) -> Any:
    """What Compose makes of a value: ``$$`` is a ``$``, ``${NAME:-default}`` its default (nothing is set here)."""
    if isinstance(value, str):
        return re.sub(r"\$\{\w+:?-([^}]*)\}", r"\1", value).replace("$$", "$")
    if isinstance(value, list):
        return [_interpolated(item) for item in value]
    if isinstance(value, dict):
        return {key: _interpolated(item) for key, item in value.items()}
    return value


COMPOSE: dict[str, Any] = _interpolated(yaml.safe_load(TEXT))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]


def _ours() -> dict[str, dict[str, Any]]:
    return {name: service for name, service in SERVICES.items() if service["image"] == OURS}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's variables as its process sees them: the settings' defaults, the image's, then its own."""
    env = {**DEFAULTS, **image_env()} if service["image"] == OURS else {}
    return env | {key: str(value) for key, value in service.get("environment", {}).items()}


def _command_lines(service: dict[str, Any]) -> list[list[str]]:
    """The ``integrity`` command lines a service of ours runs (its command, else the image's CMD)."""
    words = service.get("command") or command()
    if isinstance(words, str):
        words = shlex.split(words)
    script = words[2] if words[:2] == ["sh", "-c"] else shlex.join(words)
    lines = []
    for part in re.split(r"&&|;|\|\|", script):
        argv = shlex.split(part)
        while argv and (argv[0] == "exec" or re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", argv[0])):  # `VAR=x exec ...`
            argv = argv[1:]
        lines.append(argv)
    return lines


def _health_test(service: dict[str, Any]) -> str:
    """A service's health check command as one string ("" when disabled or absent); ours inherit the image's."""
    check = service.get("healthcheck")
    if check is None:
        return healthcheck() if service["image"] == OURS else ""
    if check.get("disable") or check.get("test") in (["NONE"], "NONE"):
        return ""
    test = check["test"]
    return test if isinstance(test, str) else " ".join(test)


def test_every_image_is_pinned_by_tag():
    for name, service in SERVICES.items():
        image = service["image"]
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert tag and tag != "latest", f"{name}: {image} is not pinned by a tag"


def test_one_service_builds_the_image_the_others_of_ours_run():
    builders = [name for name, service in SERVICES.items() if "build" in service]
    assert builders == ["topics"], builders  # what every other service of ours waits for
    assert SERVICES["topics"]["image"] == OURS
    build = SERVICES["topics"]["build"]
    assert (ROOT / build["context"] / "Dockerfile").is_file()
    assert set(_ours()) >= {"topics", "worker", "gateway", "verdicts", "producer"}


def test_every_command_is_one_the_cli_takes():
    parser = build_parser()
    for name, service in _ours().items():
        lines = _command_lines(service)
        assert lines, f"{name} runs nothing"
        for argv in lines:
            assert argv[0] == "integrity", f"{name}: {argv} is not an integrity command"
            try:
                parser.parse_args(argv[1:])
            except SystemExit:
                pytest.fail(f"{name}: `{shlex.join(argv)}` is not a command line integrity takes")


def test_the_demo_replays_the_sample_it_builds():
    producer = SERVICES["producer"]
    assert producer["profiles"] == ["demo"]
    sample, produce = (build_parser().parse_args(argv[1:]) for argv in _command_lines(producer))
    assert (sample.command, produce.command) == ("sample", "produce") and produce.path == sample.out
    assert "demo" in SERVICES["topics"]["build"]["args"]["EXTRAS"]  # `integrity sample` needs scikit-image


def test_every_variable_set_is_a_setting():
    ours = set(DEFAULTS)
    for name, service in _ours().items():
        unknown = {key for key in service.get("environment", {}) if key not in ours}
        assert not unknown, f"{name} sets {sorted(unknown)}, which are not settings"


def test_every_service_of_ours_has_the_same_partition_count_from_one_place():
    assert len(re.findall(r"^\s*INTEGRITY_PARTITIONS:", TEXT, re.M)) == 1
    counts = {name: _environment(service)["INTEGRITY_PARTITIONS"] for name, service in _ours().items()}
    assert len(set(counts.values())) == 1, counts
    assert all("INTEGRITY_PARTITIONS" in service.get("environment", {}) for service in _ours().values())


def _container_ports(service: dict[str, Any]) -> set[int]:
    return {int(str(port).rsplit(":", 1)[-1]) for port in service.get("ports", [])}


def test_the_ports_are_those_the_services_listen_on():
    assert _container_ports(SERVICES["worker"]) == {int(_environment(SERVICES["worker"])["INTEGRITY_WEB_PORT"])}
    gateway = _environment(SERVICES["gateway"])
    assert _container_ports(SERVICES["gateway"]) == {int(gateway["INTEGRITY_GATEWAY_PORT"])}
    assert gateway["INTEGRITY_GATEWAY_HOST"] == "0.0.0.0"
    for port in SERVICES["worker"]["ports"]:
        assert ":" not in str(port), "a fixed host port would stop `--scale worker=N`"


def test_the_workers_views_listen_beyond_the_container_and_say_so_when_open():
    worker = SERVICES["worker"]
    env = {**image_env(), **{key: str(value) for key, value in worker["environment"].items()}}
    settings = load_settings(env)
    assert not is_loopback(settings.web_bind), "Prometheus and the other workers reach the views from outside"
    assert settings.web_insecure and not settings.web_token  # nothing set here: open, explicitly
    assert web_exposure(settings) is not None  # started, with the warning in the worker's log
    locked = load_settings(env | {"INTEGRITY_WEB_TOKEN": "from-dot-env"})
    assert web_exposure(locked) is None


def _served_gateway_paths() -> set[str]:
    routes = (ROOT / "streams" / "gateway" / "routes" / "health.py").read_text()
    return set(re.findall(r'@router\.get\("([^"]+)"', routes))


def test_every_service_restarts_as_fits_it():
    for name, service in SERVICES.items():
        restart = service.get("restart")
        assert restart in LONG_RUNNING or restart == "no" or str(restart).startswith("on-failure"), name
    for name in ("kafka", "worker", "gateway", "verdicts", "prometheus", "grafana"):
        assert SERVICES[name]["restart"] in LONG_RUNNING, f"{name} runs until stopped"


def test_every_long_running_service_has_a_health_check_on_what_it_serves():
    for name, service in SERVICES.items():
        test = _health_test(service)
        if service.get("restart") not in LONG_RUNNING:
            assert not test, f"{name} exits when done: a health check would only mark it unhealthy"
            continue
        assert test, f"{name} has no health check"
    served = {
        "worker": ("INTEGRITY_WEB_PORT", served_worker_paths()),
        "gateway": ("INTEGRITY_GATEWAY_PORT", _served_gateway_paths()),
    }
    for name, (port_env, paths) in served.items():
        service = SERVICES[name]
        (url,) = re.findall(r"http://[^'\"\s]+", _health_test(service))
        parts = urlsplit(url)
        assert parts.port == int(_environment(service)[port_env]), f"{name}: {url}"
        assert parts.path in paths, f"{name}: {parts.path} is not served ({sorted(paths)})"
    assert "KAFKA_BOOTSTRAP_SERVERS" in _health_test(SERVICES["verdicts"])  # serves nothing: reaches its broker


def test_every_dependency_waits_for_a_state_the_dependency_reaches():
    for name, service in SERVICES.items():
        for needed, how in service.get("depends_on", {}).items():
            condition = how["condition"]
            if condition == "service_healthy":
                assert _health_test(SERVICES[needed]), f"{name} waits for {needed} to be healthy: it has no check"
            else:
                assert condition == "service_completed_successfully", f"{name}: {condition}"
                assert SERVICES[needed].get("restart") not in LONG_RUNNING, f"{name} waits for {needed} to exit"
    for name in set(_ours()) - {"topics"}:
        assert SERVICES[name]["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_prometheus_scrapes_the_workers_metrics_and_loads_the_mounted_rules():
    prometheus = SERVICES["prometheus"]
    mounts = {volume.split(":")[1]: ROOT / volume.split(":")[0] for volume in prometheus["volumes"]}
    config = yaml.safe_load(mounts["/etc/prometheus/prometheus.yml"].read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] in served_worker_paths() and job["metrics_path"] == "/metrics"
    (target,) = job["dns_sd_configs"]
    assert target["names"] == ["worker"] and "worker" in SERVICES
    assert target["port"] == int(_environment(SERVICES["worker"])["INTEGRITY_WEB_PORT"])
    assert config["rule_files"], "no alert rules"
    for rules in config["rule_files"]:
        assert rules in mounts, f"{rules} is not mounted into Prometheus"


def test_every_file_compose_mounts_exists():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            host = volume.split(":")[0]
            if host.startswith("."):
                assert (ROOT / host).exists(), f"{name} mounts {host}, which the repository lacks"
            else:
                assert host in COMPOSE["volumes"], f"{name}: volume {host} is not declared"


def test_kafka_keeps_its_data_on_the_volume():
    kafka = SERVICES["kafka"]
    data = kafka["environment"]["KAFKA_LOG_DIRS"]  # the apache/kafka image's default is under /tmp
    mounted = {volume.split(":")[1]: volume.split(":")[0] for volume in kafka["volumes"]}
    assert mounted.get(data) in COMPOSE["volumes"], f"no named volume at KAFKA_LOG_DIRS={data}"


def _compose() -> list[str] | None:
    """A Compose that renders offline: the docker plugin, else the standalone docker-compose."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def test_compose_renders_the_file_as_read_here():
    compose = _compose()
    if compose is None:
        pytest.skip("no Docker Compose installed")
    files = ["--project-directory", str(ROOT), "-f", str(ROOT / "docker-compose.yml")]
    rendered = subprocess.run(
        [*compose, *files, "--profile", "demo", "config"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rendered.returncode == 0, rendered.stderr
    services = _interpolated(yaml.safe_load(rendered.stdout))["services"]
    assert set(services) == set(SERVICES)
    for name, service in SERVICES.items():
        other = services[name]
        assert other["image"] == service["image"]
        assert other.get("command") == service.get("command"), name
        assert {k: str(v) for k, v in other.get("environment", {}).items()} == {
            k: str(v) for k, v in service.get("environment", {}).items()
        }, name
        assert {k: v["condition"] for k, v in other.get("depends_on", {}).items()} == {
            k: v["condition"] for k, v in service.get("depends_on", {}).items()
        }, name
