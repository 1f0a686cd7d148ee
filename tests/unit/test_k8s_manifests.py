"""The Kubernetes manifests (deploy/k8s) render, fit the Kubernetes API's schemas, and agree with the code:
every variable they set is a declared setting and loads, probes ask the paths the worker and the gateway
serve, ports are the configured ones, autoscalers stay within the partitions, and the worker pods get the
stop time and memory measured for a worker. Rendered with `kubectl kustomize` and validated offline
(kubernetes-validate): nothing here is applied to a cluster (docs/KUBERNETES.md)."""

from __future__ import annotations

import copy
import functools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.settings import Settings, declared, is_loopback, load_settings, web_exposure

# measured: docs/SCALING.md
MEASURED_STOP_S = 4.3  # a worker's stop on SIGTERM, seconds: the longest of docs/SCALING.md's runs
MEASURED_WORKER_RSS_MIB = 240  # one worker process's resident memory, MiB: one reading, docs/SCALING.md

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
TARGETS = {"base": K8S / "base", "production": K8S / "overlays" / "production"}
# The schemas' version: that of the kubectl here (1.32), which renders the manifests.
K8S_VERSION = "1.32"
# CRDs are not in the Kubernetes schemas: KEDA's are checked by their structure (test_the_scaled_object_...).
CRDS = {("keda.sh/v1alpha1", "ScaledObject"), ("keda.sh/v1alpha1", "TriggerAuthentication")}
# Not settings: the pod's own name and namespace, for expanding INTEGRITY_WEB_HOST.
HELPERS = {"POD_NAME", "POD_NAMESPACE"}
FIELDS = {"metadata.name": "integrity-worker-0", "metadata.namespace": "integrity"}
# Stand-ins for secret values, of the right shape (INTEGRITY_GATEWAY_API_KEYS: name:sha256hex).
SECRET_STANDINS = {"INTEGRITY_GATEWAY_API_KEYS": "acme:" + "0" * 64}
# The label docs/KUBERNETES.md tells Prometheus' pods to carry to reach the workers' port.
PROMETHEUS_POD = {"app.kubernetes.io/name": "prometheus"}

Obj = dict[str, Any]


@functools.cache
def _render(target: str) -> tuple[Obj, ...]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the manifests cannot be rendered (kubectl kustomize)")
    done = subprocess.run(
        [kubectl, "kustomize", str(TARGETS[target])], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"kubectl kustomize {target}: {done.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(done.stdout) if doc)


@pytest.fixture(params=sorted(TARGETS))
def objects(request: pytest.FixtureRequest) -> tuple[Obj, ...]:
    return _render(request.param)


def _of(objects: tuple[Obj, ...], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def _one(objects: tuple[Obj, ...], kind: str, name: str | None = None) -> Obj:
    found = [o for o in _of(objects, kind) if name is None or o["metadata"]["name"] == name]
    assert len(found) == 1, f"{len(found)} {kind} named {name or 'anything'}"
    return found[0]


def _workloads(objects: tuple[Obj, ...]) -> list[Obj]:
    return [o for o in objects if o["kind"] in ("StatefulSet", "Deployment")]


def _component(objects: tuple[Obj, ...], component: str) -> Obj:
    (workload,) = [
        w
        for w in _workloads(objects)
        if w["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]
    return workload


def _container(workload: Obj) -> Obj:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def _environment(objects: tuple[Obj, ...], container: Obj) -> dict[str, str]:
    """The container's variables as Kubernetes sets them: ConfigMaps first, then ``env`` in order, $(VAR)
    expanded from what is defined before it; fields and Secrets get stand-ins."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        # A Secret's keys would be invisible here, and to a reader of the manifests.
        assert set(source) == {"configMapRef"}, f"envFrom {source}: name each secret variable in env"
        env.update(_one(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    for item in container.get("env", []):
        name, source = item["name"], item.get("valueFrom", {})
        if "value" in item:
            undefined = [ref for ref in _REFERENCE.findall(item["value"]) if ref not in env]
            assert not undefined, (
                f"{name} refers to {undefined} before they are defined: Kubernetes would not expand it"
            )
            env[name] = _REFERENCE.sub(lambda m: env[m.group(1)], item["value"])
        elif "fieldRef" in source:
            env[name] = FIELDS[source["fieldRef"]["fieldPath"]]
        elif "secretKeyRef" in source:
            env[name] = SECRET_STANDINS.get(name, "stand-in")
        else:
            raise AssertionError(f"{name}: unexpected source {source}")
    return env


def _settings(objects: tuple[Obj, ...], workload: Obj) -> Settings:
    return load_settings(_environment(objects, _container(workload)))


def _mib(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "K": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    parsed = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", quantity)
    assert parsed is not None, quantity
    number, unit = parsed.groups()
    return float(number) * units[unit] if unit else float(number) / 2**20


def _cores(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def _port(port: int | str, container: Obj) -> int:
    """A port by number or by the container's port name."""
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p["name"] == port]
    return int(number)


def _routes(path: Path, decorator: str) -> set[str]:
    return set(re.findall(decorator + r"\(\s*\"([^\"]+)\"", path.read_text()))


WORKER_ROUTES = _routes(ROOT / "streams" / "web" / "views.py", r"@app\.page")
GATEWAY_ROUTES = set().union(
    *(_routes(path, r"@router\.get") for path in (ROOT / "streams" / "gateway" / "routes").glob("*.py"))
)


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


# -- the Kubernetes API ---------------------------------------------------------------------------


def test_every_object_fits_the_kubernetes_schema(objects: tuple[Obj, ...]):
    validate = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate (the dev extra) is missing")
    for item in objects:
        if (item["apiVersion"], item["kind"]) in CRDS:
            continue
        # Strict: a misspelt or misplaced field is an error, not silently dropped by the API server. A kind
        # the schemas lack raises SchemaNotFoundError.
        assert validate.validate(item, K8S_VERSION, strict=True) == K8S_VERSION, item["metadata"]["name"]


def test_strict_validation_refuses_an_unknown_field():
    validate = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate (the dev extra) is missing")
    broken = copy.deepcopy(_one(_render("base"), "StatefulSet"))
    broken["spec"]["replica"] = 3
    with pytest.raises(validate.ValidationError):
        validate.validate(broken, K8S_VERSION, strict=True)


# -- settings -------------------------------------------------------------------------------------


def test_every_variable_is_a_declared_setting(objects: tuple[Obj, ...]):
    ours = {item.env for item in declared()}
    named = {
        key
        for config in _of(objects, "ConfigMap")
        if config["metadata"]["name"] == "integrity-config"
        for key in config["data"]
    }
    for workload in _workloads(objects):
        named |= {item["name"] for item in _container(workload).get("env", [])}
    assert named - ours - HELPERS == set(), "not settings (streams/settings.py)"


def test_every_container_loads_its_settings(objects: tuple[Obj, ...]):
    for workload in _workloads(objects):
        settings = _settings(objects, workload)  # raises SettingsError naming a variable that does not fit
        assert settings.broker.embedded is False, "real Kafka: INTEGRITY_EMBEDDED_BROKER=false"


def test_secrets_are_referenced_never_committed(objects: tuple[Obj, ...]):
    assert not _of(objects, "Secret"), "secret values never in the repository: docs/KUBERNETES.md creates them"
    documented = (ROOT / "docs" / "KUBERNETES.md").read_text()
    referenced: dict[str, set[str]] = {}
    for workload in _workloads(objects):
        for item in _container(workload).get("env", []):
            if ref := item.get("valueFrom", {}).get("secretKeyRef"):
                # Keyed by the variable's own name: `kubectl create secret --from-literal=NAME=...` in the docs.
                assert ref["key"] == item["name"]
                referenced.setdefault(ref["name"], set()).add(ref["key"])
    for auth in _of(objects, "TriggerAuthentication"):
        for ref in auth["spec"]["secretTargetRef"]:
            assert ref["key"] in referenced.get(ref["name"], set()), f"KEDA reads {ref}, which no pod uses"
    tls = {entry["secretName"] for ingress in _of(objects, "Ingress") for entry in ingress["spec"].get("tls", [])}
    for name in set(referenced) | tls:
        (line,) = re.findall(rf"kubectl create secret (?:generic|tls) {re.escape(name)} .*", documented)
        for key in referenced.get(name, set()):
            assert re.search(rf"--from-(?:literal|file)={key}=", line), f"docs/KUBERNETES.md: {name} without {key}"


# -- the workers ----------------------------------------------------------------------------------


def test_the_worker_runs_one_process_with_a_stable_name_and_static_membership(objects: tuple[Obj, ...]):
    worker = _one(objects, "StatefulSet")
    container = _container(worker)
    assert container["command"] == ["integrity", "worker"]
    assert worker["spec"]["podManagementPolicy"] == "Parallel"
    env = {item["name"]: item for item in container["env"]}
    fields = {
        name: item["valueFrom"]["fieldRef"]["fieldPath"]
        for name, item in env.items()
        if "fieldRef" in item.get("valueFrom", {})
    }
    assert fields["POD_NAME"] == fields["INTEGRITY_GROUP_INSTANCE_ID"] == "metadata.name"
    assert fields["POD_NAMESPACE"] == "metadata.namespace"
    headless = _one(objects, "Service", worker["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    assert _selects(headless["spec"]["selector"], worker["spec"]["template"]["metadata"]["labels"])
    host = f"$(POD_NAME).{headless['metadata']['name']}.$(POD_NAMESPACE).svc.cluster.local"
    assert env["INTEGRITY_WEB_HOST"]["value"] == host
    settings = _settings(objects, worker)
    assert settings.processes == 1, "one process per pod: scale by replicas"
    assert settings.web_host == f"integrity-worker-0.{headless['metadata']['name']}.integrity.svc.cluster.local"


def test_the_workers_views_listen_on_the_pods_address_behind_the_token(objects: tuple[Obj, ...]):
    settings = _settings(objects, _one(objects, "StatefulSet"))
    assert not is_loopback(settings.web_bind), "probes, Prometheus and the other workers come from outside the pod"
    assert settings.web_token and not settings.web_insecure
    assert web_exposure(settings) is None  # starts, and says nothing: locked


def test_the_worker_keeps_its_tables_on_its_own_volume(objects: tuple[Obj, ...]):
    worker = _one(objects, "StatefulSet")
    mounts = {m["mountPath"]: m["name"] for m in _container(worker)["volumeMounts"]}
    claims = {claim["metadata"]["name"] for claim in worker["spec"]["volumeClaimTemplates"]}
    assert mounts[str(_settings(objects, worker).data_dir)] in claims


def test_pods_run_unprivileged_on_a_read_only_root(objects: tuple[Obj, ...]):
    image_user = re.search(r"^USER (\d+):(\d+)$", (ROOT / "Dockerfile").read_text(), re.M)
    assert image_user is not None, "the image's USER is numeric (uid:gid), or runAsNonRoot cannot check it"
    for workload in _workloads(objects):
        pod = workload["spec"]["template"]["spec"]
        container = _container(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        # The image's own user: the one that owns its data folder.
        ids = (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"])
        assert ids == tuple(int(n) for n in image_user.groups())
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        volumes = {v["name"]: v for v in pod["volumes"]}
        (tmp,) = [m["name"] for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert "emptyDir" in volumes[tmp]


def test_the_worker_stops_and_fits_as_measured(objects: tuple[Obj, ...]):
    worker = _one(objects, "StatefulSet")
    pod = worker["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] >= 2 * MEASURED_STOP_S
    resources = _container(worker)["resources"]
    assert _mib(resources["requests"]["memory"]) >= MEASURED_WORKER_RSS_MIB
    assert _mib(resources["limits"]["memory"]) > _mib(resources["requests"]["memory"])
    assert _cores(resources["requests"]["cpu"]) == 1, "one worker process uses one core"


def test_probes_ask_what_the_worker_and_the_gateway_serve(objects: tuple[Obj, ...]):
    worker = _container(_one(objects, "StatefulSet"))
    assert worker["readinessProbe"]["httpGet"]["path"] == "/health/"
    assert worker["livenessProbe"]["httpGet"]["path"] == worker["startupProbe"]["httpGet"]["path"] == "/health/live/"
    assert {"/health/", "/health/live/", "/metrics"} <= WORKER_ROUTES
    startup = worker["startupProbe"]
    # Model warm-up takes ~60-120 s before the views answer.
    assert startup.get("initialDelaySeconds", 0) + startup["periodSeconds"] * startup["failureThreshold"] >= 120
    gateway = _container(_component(objects, "gateway"))
    assert gateway["command"] == ["integrity", "gateway"]
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/health"
    assert "/health" in GATEWAY_ROUTES
    # Liveness must not be readiness: a gateway waiting for Kafka is not helped by a restart.
    assert "httpGet" not in gateway["livenessProbe"] or gateway["livenessProbe"]["httpGet"]["path"] != "/health"


def test_ports_are_the_configured_ones(objects: tuple[Obj, ...]):
    worker = _one(objects, "StatefulSet")
    container = _container(worker)
    web_port = _settings(objects, worker).web_port
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert _port(container[probe]["httpGet"]["port"], container) == web_port, probe
    assert int(worker["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"]) == web_port
    for port in _one(objects, "Service", worker["spec"]["serviceName"])["spec"]["ports"]:
        assert _port(port["targetPort"], container) == web_port

    gateway = _component(objects, "gateway")
    container = _container(gateway)
    settings = _settings(objects, gateway)
    assert settings.gateway.host == "0.0.0.0", "127.0.0.1 is unreachable from outside the pod"
    assert _port(container["readinessProbe"]["httpGet"]["port"], container) == settings.gateway.port
    service = _one(objects, "Service", "integrity-gateway")
    assert _selects(service["spec"]["selector"], gateway["spec"]["template"]["metadata"]["labels"])
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert {_port(p["targetPort"], container) for p in ports.values()} == {settings.gateway.port}
    for ingress in _of(objects, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] == "integrity-gateway" and backend["port"]["name"] in ports


def test_replicas_stay_within_the_partitions(objects: tuple[Obj, ...]):
    worker = _one(objects, "StatefulSet")
    partitions = _settings(objects, worker).topics.partitions
    replicas = worker["spec"]["replicas"]
    assert 1 <= replicas <= partitions
    target = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": worker["metadata"]["name"]}
    autoscalers = _of(objects, "HorizontalPodAutoscaler") + _of(objects, "ScaledObject")
    assert len(autoscalers) == 1, "one autoscaler per StatefulSet: two would fight"
    (scaler,) = autoscalers
    assert scaler["spec"]["scaleTargetRef"] == target
    low, high = (
        (scaler["spec"]["minReplicas"], scaler["spec"]["maxReplicas"])
        if scaler["kind"] == "HorizontalPodAutoscaler"
        else (scaler["spec"]["minReplicaCount"], scaler["spec"]["maxReplicaCount"])
    )
    assert high <= partitions, "a worker beyond the partitions gets none and idles"
    # The manifests' replicas are the autoscaler's floor: re-applying them at idle changes nothing.
    assert 1 <= low == replicas <= high


def test_drains_take_one_worker_at_a_time(objects: tuple[Obj, ...]):
    budget = _one(objects, "PodDisruptionBudget")
    assert budget["spec"]["maxUnavailable"] == 1
    labels = _one(objects, "StatefulSet")["spec"]["template"]["metadata"]["labels"]
    assert _selects(budget["spec"]["selector"]["matchLabels"], labels)


def test_only_the_gateway_the_workers_and_prometheus_reach_the_workers_port(objects: tuple[Obj, ...]):
    worker = _one(objects, "StatefulSet")
    worker_labels = worker["spec"]["template"]["metadata"]["labels"]
    gateway_labels = _component(objects, "gateway")["spec"]["template"]["metadata"]["labels"]
    (policy,) = [
        p for p in _of(objects, "NetworkPolicy") if _selects(p["spec"]["podSelector"]["matchLabels"], worker_labels)
    ]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    reached = set()
    for rule in policy["spec"]["ingress"]:
        assert [_port(p["port"], _container(worker)) for p in rule["ports"]] == [_settings(objects, worker).web_port]
        for peer in rule["from"]:
            assert set(peer) <= {"podSelector", "namespaceSelector"}, f"{peer}: pods only, no address blocks"
            selector = peer["podSelector"]["matchLabels"]
            if selector == PROMETHEUS_POD:
                reached.add("prometheus")
                continue
            assert "namespaceSelector" not in peer, f"{peer}: our pods live in this namespace"
            ours = {
                name
                for name, labels in (("gateway", gateway_labels), ("worker", worker_labels))
                if _selects(selector, labels)
            }
            assert len(ours) == 1, f"{selector} selects {ours or 'none'} of our pods"
            reached |= ours
    assert reached == {"gateway", "worker", "prometheus"}


def test_prometheus_finds_the_workers_and_only_them(objects: tuple[Obj, ...]):
    config = yaml.safe_load(_one(objects, "ConfigMap", "integrity-prometheus")["data"]["prometheus.yml"])
    (job,) = config["scrape_configs"]
    compose = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    assert job["job_name"] == compose["scrape_configs"][0]["job_name"], "the alert rules name one job"
    assert [sd["role"] for sd in job["kubernetes_sd_configs"]] == ["pod"]
    worker = _one(objects, "StatefulSet")
    web_port = _settings(objects, worker).web_port
    assert _relabelled(job["relabel_configs"], worker) == {"address": f"10.0.0.7:{web_port}", "path": "/metrics"}
    assert _relabelled(job["relabel_configs"], _component(objects, "gateway")) is None
    unasked = copy.deepcopy(worker)
    unasked["spec"]["template"]["metadata"]["annotations"]["prometheus.io/scrape"] = "false"
    assert _relabelled(job["relabel_configs"], unasked) is None, "a worker pod opts out by its annotation"
    assert "/metrics" in WORKER_ROUTES


def _relabelled(rules: list[Obj], workload: Obj) -> dict[str, str] | None:
    """What Prometheus' relabelling makes of a running pod of ``workload`` (address and path), None if dropped."""
    template = workload["spec"]["template"]["metadata"]
    labels = {"__address__": "10.0.0.7", "__metrics_path__": "/metrics", "__meta_kubernetes_pod_phase": "Running"}
    for kind, values in (("label", template.get("labels", {})), ("annotation", template.get("annotations", {}))):
        labels |= {f"__meta_kubernetes_pod_{kind}_{re.sub(r'[^A-Za-z0-9_]', '_', k)}": v for k, v in values.items()}
    for rule in rules:
        value = ";".join(labels.get(name, "") for name in rule.get("source_labels", []))
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        action = rule.get("action", "replace")
        if (action == "keep" and not match) or (action == "drop" and match):
            return None
        if action == "replace" and match:
            labels[rule["target_label"]] = match.expand(re.sub(r"\$(\d)", r"\\\1", rule.get("replacement", "$1")))
    return {"address": labels["__address__"], "path": labels["__metrics_path__"]}


# -- production -----------------------------------------------------------------------------------


# The fields of KEDA 2's ScaledObject and TriggerAuthentication these manifests may use, as dotted paths
# (lists entered), and the kafka scaler's metadata keys (keda.sh/docs, "Scaling Deployments, StatefulSets &
# Custom Resources", "Apache Kafka").
KEDA_FIELDS = {
    "ScaledObject": {
        *("scaleTargetRef.apiVersion", "scaleTargetRef.kind", "scaleTargetRef.name"),
        *("pollingInterval", "cooldownPeriod", "initialCooldownPeriod", "minReplicaCount", "maxReplicaCount"),
        "advanced.restoreToOriginalReplicaCount",
        *(
            f"advanced.horizontalPodAutoscalerConfig.behavior.{way}.{key}"
            for way in ("scaleUp", "scaleDown")
            for key in (
                "stabilizationWindowSeconds",
                "selectPolicy",
                "policies.type",
                "policies.value",
                "policies.periodSeconds",
            )
        ),
        *("triggers.type", "triggers.metadata", "triggers.authenticationRef.name", "triggers.metricType"),
    },
    "TriggerAuthentication": {"secretTargetRef.parameter", "secretTargetRef.name", "secretTargetRef.key"},
    "kafka": {
        *("bootstrapServers", "consumerGroup", "topic", "lagThreshold", "activationLagThreshold"),
        *("offsetResetPolicy", "allowIdleConsumers", "excludePersistentLag", "limitToPartitionsWithLag"),
        *("scaleToZeroOnInvalidOffset", "sasl", "tls", "version"),
    },
}


def _fields(value: Any, prefix: str = "") -> set[str]:
    """The dotted paths to the leaves of ``value`` (list items entered; ``metadata`` maps kept whole)."""
    if isinstance(value, list):
        return set().union(*(_fields(item, prefix) for item in value))
    if isinstance(value, dict) and not prefix.endswith("metadata."):
        return set().union(*(_fields(item, f"{prefix}{key}.") for key, item in value.items()))
    return {prefix.rstrip(".")}


def test_the_scaled_object_watches_the_workers_group_on_the_frames_topic():
    objects = _render("production")
    settings = _settings(objects, _one(objects, "StatefulSet"))
    scaled = _one(objects, "ScaledObject")
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    meta = trigger["metadata"]
    assert meta["consumerGroup"] == settings.app_id, "Faust's app id is the consumer group"
    assert meta["topic"] == settings.topics.frames
    assert meta["bootstrapServers"] == settings.broker.bootstrap_servers
    assert int(meta["lagThreshold"]) > 0
    assert meta.get("allowIdleConsumers", "false") == "false"
    reset = re.search(r'consumer_auto_offset_reset="(\w+)"', (ROOT / "streams" / "app.py").read_text())
    assert reset is not None and meta["offsetResetPolicy"] == reset.group(1)
    # KEDA's spelling of the workers' own security settings.
    mechanisms = {"PLAIN": "plaintext", "SCRAM-SHA-256": "scram_sha256", "SCRAM-SHA-512": "scram_sha512"}
    assert meta.get("sasl", "none") == (
        mechanisms[settings.broker.sasl_mechanism] if settings.broker.uses_sasl else "none"
    )
    assert meta.get("tls", "disable") == ("enable" if settings.broker.uses_tls else "disable")
    auth = _one(objects, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    assert {ref["parameter"] for ref in auth["spec"]["secretTargetRef"]} == {"username", "password"}
    # The API server drops fields a CRD does not know without a word: the ones used must be KEDA's.
    assert _fields(scaled["spec"]) <= KEDA_FIELDS["ScaledObject"], _fields(scaled["spec"]) - KEDA_FIELDS["ScaledObject"]
    assert set(meta) <= KEDA_FIELDS["kafka"], set(meta) - KEDA_FIELDS["kafka"]
    assert _fields(auth["spec"]) <= KEDA_FIELDS["TriggerAuthentication"]
    assert (
        scaled["metadata"]["namespace"]
        == auth["metadata"]["namespace"]
        == _one(objects, "StatefulSet")["metadata"]["namespace"]
    )


def test_production_runs_a_released_image_over_sasl_ssl():
    objects = _render("production")
    for workload in _workloads(objects):
        image = _container(workload)["image"]
        assert re.fullmatch(r"[^:]+:\d+\.\d+\.\d+", image), f"{image}: a release tag, not latest"
        broker = _settings(objects, workload).broker
        assert broker.security_protocol == "SASL_SSL"
