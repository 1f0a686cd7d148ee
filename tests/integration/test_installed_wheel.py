"""The wheel is the product: built from the checkout, installed into a fresh virtual environment outside
it, and run from there: the embedded broker and a worker started by the installed ``integrity`` command
answer a frame with a Result, and the policies, static files, schemas and benchmarks it needs are in it.

The fresh environment installs the wheel alone (``--no-deps``); its dependencies (torch alone is GBs) are
the development environment's, put on its path by a ``.pth`` line. A directory named in a ``.pth`` file is
only appended to ``sys.path`` (its own ``.pth`` files, the checkout's editable finder among them, are not
run), so ``streams``, ``producers`` and ``schemas`` come from the wheel: a test checks that no file of
the checkout is on the path."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from schemas.records import now_ms
from streams.child_process import free_port, stop_child
from streams.kafka.embedded_broker import wait_for_port
from streams.settings import load_settings
from streams.stack.processes import WorkerProcess
from tests.helpers.frames import frame_record
from tests.helpers.kafka import publish, results_of

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built as the Dockerfile builds it, from a copy of what the package is made of (a build folder left
    in the checkout by an earlier build could add files the sources no longer have)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("dist")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for package in ("schemas", "producers", "streams"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("interview_integrity-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh(wheel, tmp_path_factory) -> Path:
    """A new virtual environment, outside the checkout, with the wheel installed; returns its python."""
    folder = tmp_path_factory.mktemp("fresh")
    subprocess.run([sys.executable, "-m", "venv", str(folder / "venv")], check=True)
    python = folder / "venv" / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    packages = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(packages) / "development-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return python


def _env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return env | {"HOME": str(folder), "INTEGRITY_YOLO_WEIGHTS": ""}


def test_the_wheel_holds_the_three_packages_and_what_they_read(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {PurePosixPath(name).parts[0] for name in names if ".dist-info" not in PurePosixPath(name).parts[0]}
    assert tops == {"streams", "producers", "schemas"}
    for needed in (
        "streams/risk/policies/default.yaml",
        "streams/risk/policies/interview.yaml",
        "streams/web/static/dashboard.js",
        "streams/web/static/vendor/uplot/uPlot.iife.min.js",
        "streams/gateway/static/demo.html",
        "streams/gateway/static/integrity-gateway.js",
        "schemas/integrity.Frame.avsc",
        "schemas/published/integrity.Result.avsc",
        "streams/bench/pipeline.py",
        "streams/samples/scenes.py",
    ):
        assert needed in names, needed
    history = [name for name in names if name.startswith("schemas/history/") and name.endswith(".avsc")]
    assert len(history) == len(list((ROOT / "schemas" / "history").glob("*.avsc"))) > 0
    # The JS client served from the package is its one source (clients/js links to it).
    shipped = zipfile.ZipFile(wheel).read("streams/gateway/static/integrity-gateway.js")
    assert shipped == (ROOT / "clients" / "js" / "integrity-gateway.js").read_bytes()


def test_the_installed_packages_come_from_the_wheel_not_the_checkout(fresh, tmp_path):
    probe = (
        "import sys, streams, producers, schemas, streams.risk.policy as p; "
        "print(streams.__file__, producers.__file__, schemas.__file__, p.POLICY_DIR, *sys.path, sep='\\n')"
    )
    out = subprocess.run([fresh, "-c", probe], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    venv = str(Path(fresh).parent.parent)
    assert all(line.startswith(venv) for line in lines[:4]), lines[:4]
    dependencies = set(site.getsitepackages())  # the development environment's, inside the checkout here
    from_checkout = [line for line in lines[4:] if line.startswith(str(ROOT)) and line not in dependencies]
    assert not from_checkout, f"folders of the checkout on the path: {from_checkout}"
    assert not any((Path(folder) / "streams").exists() for folder in dependencies)


def test_the_installed_command_runs_a_broker_and_a_worker_that_answer_a_frame(fresh, tmp_path):
    integrity = Path(fresh).parent / "integrity"
    env, port = _env(tmp_path), free_port()
    with (tmp_path / "broker.log").open("wb") as broker_log:
        broker = subprocess.Popen(
            [integrity, "broker", "--listen", f"127.0.0.1:{port}"],
            cwd=tmp_path,
            env=env,
            stdout=broker_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_port("127.0.0.1", port, 30)
            env |= {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}", "INTEGRITY_EMBEDDED_BROKER": "true"}
            worker = WorkerProcess(
                env, free_port(), tmp_path / "worker", tmp_path / "worker.log", python=str(fresh), cwd=tmp_path
            )
            worker.start()
            try:
                worker.wait_ready(180)
                settings = load_settings(env)
                publish(
                    settings, [(settings.topics.frames, "wheel-1", frame_record("wheel-1", 0, now_ms(), "one_face"))]
                )
                (result,) = results_of(settings, "wheel-1", 1)
                assert result["frame_sequence"] == 0 and result["objects_status"] == "unavailable"
                assert result["policy"] == "default@2"  # read from the policy files inside the wheel
            finally:
                worker.stop()
        finally:
            stop_child(broker, 10)
