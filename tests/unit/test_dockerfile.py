"""The image installs the wheel the package builds (tests/integration/test_installed_wheel.py runs that
wheel), from the three packages and nothing else, with torch from the CPU index, the weights baked in at build
time, and a health check on a view the worker serves. No Docker engine runs here: the Dockerfile is read
(tests/unit/test_compose.py reads it too, for the services that run this image)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from streams.cli.registry import build_parser
from streams.settings import SettingsError, declared, load_settings, web_exposure

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
Instruction = tuple[str, str]


def _instructions(text: str = DOCKERFILE) -> list[Instruction]:
    joined = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def stages(text: str = DOCKERFILE) -> dict[str, list[Instruction]]:
    """Each stage's instructions by its name (``AS name``); the last, the image, is ``""``."""
    found: dict[str, list[Instruction]] = {}
    current: list[Instruction] = []
    for op, args in _instructions(text):
        if op == "FROM":
            words = args.split()
            current = found.setdefault(words[2] if len(words) == 3 and words[1].upper() == "AS" else "", [])
        else:  # ARGs before the first FROM are global: in no stage
            current.append((op, args))
    return found


def build_args(text: str = DOCKERFILE) -> dict[str, str]:
    """Every build argument with its default."""
    found = {}
    for op, args in _instructions(text):
        if op == "ARG":
            name, _, default = args.partition("=")
            found[name] = default
    return found


def _expand(value: str, text: str = DOCKERFILE) -> str:
    """A value with the build arguments at their defaults."""
    defaults = build_args(text)
    return re.sub(r"\$\{(\w+)\}", lambda m: defaults.get(m.group(1), m.group(0)), value)


def image_env(text: str = DOCKERFILE) -> dict[str, str]:
    """The environment the image sets (its own stage and the stages it is built FROM), build arguments expanded."""
    env = {}
    for name in ("runtime", ""):
        for op, args in stages(text)[name]:
            if op == "ENV":
                for word in shlex.split(args):
                    key, _, value = word.partition("=")
                    env[key] = _expand(value, text)
    return env


def healthcheck(text: str = DOCKERFILE) -> str:
    (check,) = [args for op, args in stages(text)[""] if op == "HEALTHCHECK"]
    return check


def command(text: str = DOCKERFILE) -> list[str]:
    (cmd,) = [args for op, args in stages(text)[""] if op == "CMD"]
    words: list[str] = json.loads(cmd)  # the exec form
    return words


def served_worker_paths() -> set[str]:
    return set(re.findall(r'@app\.page\("([^"]+)"\)', (ROOT / "streams" / "web" / "views.py").read_text()))


def _runs(stage: str) -> list[str]:
    return [args for op, args in stages()[stage] if op == "RUN"]


def _wheel_install() -> str:
    (install,) = [run for stage in stages() for run in _runs(stage) if ".whl" in run and "pip install" in run]
    return install


def test_the_image_installs_the_wheel_built_from_the_three_packages():
    steps = stages()["wheel"]
    copied = {args.split()[0] for op, args in steps if op == "COPY" and "--from" not in args}
    assert copied == {"pyproject.toml", "schemas", "producers", "streams"}
    assert any(op == "RUN" and "pip wheel" in args and "--no-deps" in args for op, args in steps)
    assert _wheel_install() in _runs("runtime") and "pip check" in _wheel_install()
    assert ("COPY", "--from=wheel /dist /tmp/dist") in stages()["runtime"]
    for folder in ("schemas", "producers", "streams"):
        assert (ROOT / folder / "__init__.py").is_file()


def test_torch_comes_from_the_cpu_index_before_the_wheel():
    assert build_args()["TORCH_INDEX_URL"] == CPU_INDEX
    install = _wheel_install()
    torch_step = install.index('pip install --no-deps --index-url "${TORCH_INDEX_URL}" $pins')
    assert torch_step < install.index('pip install "${whl}')


def test_the_torch_pins_are_read_from_the_wheel(tmp_path: Path):
    """The one-liner that reads the pins, run on a wheel whose metadata has the project's dependencies."""
    (code,) = re.findall(r'pins=\$\(python -c "(.*?)" "\$whl"\)', _wheel_install())
    metadata = "".join(f"Requires-Dist: {dep}\n" for dep in PYPROJECT["project"]["dependencies"])
    wheel = tmp_path / "interview_integrity-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("interview_integrity-0.dist-info/METADATA", f"Name: interview-integrity\n{metadata}")
    pins = subprocess.run([sys.executable, "-c", code, str(wheel)], capture_output=True, text=True, check=True)
    expected = [dep for dep in PYPROJECT["project"]["dependencies"] if re.match(r"torch(vision)?==", dep)]
    assert pins.stdout.split() == expected and len(expected) == 2


def test_every_build_argument_is_used():
    for name in build_args():
        assert len(re.findall(r"\$\{?" + name + r"\b", DOCKERFILE)) >= 1, f"ARG {name} changes nothing"


def test_every_image_it_builds_from_is_pinned_by_tag():
    for op, args in _instructions():
        if op == "FROM" and not args.startswith("runtime"):
            image = _expand(args.split()[0])
            assert re.fullmatch(r"[\w./-]+:[\w.-]+", image) and not image.endswith(":latest"), image


def test_the_image_runs_the_installed_command():
    cmd = command()
    assert cmd[:2] == ["sh", "-c"] and "INTEGRITY_WEB_HOST=${INTEGRITY_WEB_HOST:-$(hostname)}" in cmd[2]
    words = shlex.split(cmd[2].split("exec ", 1)[1])
    assert words[0] == "integrity" and build_parser().parse_args(words[1:]).command == "worker"


def test_the_health_check_asks_the_worker_liveness_view():
    check = healthcheck()
    (path,) = re.findall(r"http://127\.0\.0\.1:%s(/[\w/]*)", check)
    assert path == "/health/live/" and path in served_worker_paths()
    (default_port,) = re.findall(r"os\.environ\.get\('INTEGRITY_WEB_PORT', '(\d+)'\)", check)
    assert int(default_port) == next(d.default for d in declared() if d.env == "INTEGRITY_WEB_PORT")
    assert "curl" not in check  # the slim image has none


def test_the_image_runs_as_a_user_that_is_not_root():
    users = [args for op, args in stages()[""] if op == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    (useradd,) = [run for run in _runs("") if "useradd" in run]
    assert f"--uid {users[-1].split(':')[0]}" in useradd


def test_the_environment_it_sets():
    env = image_env()
    assert env["INTEGRITY_PROCESSES"] == "1"  # one worker process per container: scale by replicas
    assert env["INTEGRITY_EMBEDDED_BROKER"] == "false"
    assert env["INTEGRITY_GATEWAY_HOST"] == "0.0.0.0"  # reachable from outside the container
    assert env["INTEGRITY_WEB_BIND"] == "0.0.0.0"  # the worker's views too: with a token given at `docker run`
    with pytest.raises(SettingsError, match="INTEGRITY_WEB_TOKEN"):
        web_exposure(load_settings({name: value for name, value in env.items() if name.startswith("INTEGRITY_")}))
    ours = {d.env for d in declared()}
    assert {name for name in env if name.startswith(("INTEGRITY_", "KAFKA_"))} <= ours
    # Ultralytics writes its settings there as the image's user; never installs or downloads at run time.
    assert env["YOLO_CONFIG_DIR"] and any(
        "${YOLO_CONFIG_DIR}" in run and "chown" in run and "mkdir" in run for run in _runs("")
    )
    assert env["YOLO_AUTOINSTALL"] == "false" and env["YOLO_OFFLINE"] == "true"


def _offered_formats() -> dict[str, str]:
    """YOLO_FORMAT values the models stage takes, each with the Ultralytics export format it runs (pt: none)."""
    (run,) = [run for run in _runs("models") if "case" in run]
    branches = re.findall(r"(\w+)\)(.*?);;", run.split('case "${YOLO_FORMAT}" in', 1)[1])
    return {name: (re.findall(r"format='(\w+)'", body) or ["pt"])[0] for name, body in branches}


def _extras_of_formats() -> dict[str, str]:
    """YOLO_FORMAT values for which the wheel is installed with an extra, and that extra."""
    pattern = r'if \[ "\$\{YOLO_FORMAT\}" = (\w+) \]; then extras="\$\{extras:\+\$\{extras\},\}(\w+)"'
    return dict(re.findall(pattern, _wheel_install()))


def test_the_weights_are_baked_in_and_loaded_by_the_backend_of_their_format():
    from streams.vision.objects import import_ultralytics

    import_ultralytics()
    from ultralytics.nn.autobackend import AutoBackend

    weights = image_env()["INTEGRITY_YOLO_WEIGHTS"]
    (copy,) = [args for op, args in stages()[""] if op == "COPY"]
    assert copy.startswith("--from=models ") and _expand(copy.split()[-1]) == weights
    assert "YOLO_EXPORT" not in DOCKERFILE  # removed in 0.2: it exported a model the image never used
    offered = _offered_formats()
    assert offered["pt"] == "pt" and build_args()["YOLO_FORMAT"] == "pt"
    # The package each backend needs at run time, and where the image gets it (nothing installs it later).
    runtime = {"pt": "torch", "onnx": "onnxruntime", "litert": "ai-edge-litert"}
    for name, export in offered.items():
        path = weights.rsplit(".", 1)[0] + f".{name}"
        assert AutoBackend._model_type(path) == export, f"YOLO_FORMAT={name}: {path} is not run as {export}"
        needed = runtime.get(export)
        assert needed, f"YOLO_FORMAT={name}: which package runs {export}?"
        extra = _extras_of_formats().get(name, "")
        installed = PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"].get(extra, [])
        assert any(dep.startswith(f"{needed}==") for dep in installed), f"YOLO_FORMAT={name}: the image lacks {needed}"
