"""The image installs the wheel the package builds (tests/integration/test_installed_wheel.py runs that
wheel), from the three packages and nothing else. No Docker engine runs here: the Dockerfile is read."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_the_image_installs_the_wheel_built_from_the_three_packages():
    steps = _instructions()
    copied = {args.split()[0] for op, args in steps if op == "COPY" and "--from" not in args}
    assert copied == {"pyproject.toml", "schemas", "producers", "streams"}
    assert any(op == "RUN" and "pip wheel" in args and "--no-deps" in args for op, args in steps)
    installs = [args for op, args in steps if op == "RUN" and "pip install" in args]
    assert len(installs) == 1 and ".whl" in installs[0] and "pip check" in installs[0]
    for folder in ("schemas", "producers", "streams"):
        assert (ROOT / folder / "__init__.py").is_file()


def test_every_build_argument_is_used():
    for name in re.findall(r"^ARG (\w+)", DOCKERFILE, re.M):
        assert len(re.findall(r"\$\{?" + name + r"\b", DOCKERFILE)) >= 1, f"ARG {name} changes nothing"


def test_the_image_runs_the_installed_command():
    (cmd,) = [args for op, args in _instructions() if op == "CMD"]
    assert "exec integrity worker" in cmd
