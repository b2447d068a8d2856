"""The Dockerfile's install steps, run in a fresh virtual environment, and its entrypoint started
against the real control plane. No image can be built on these machines (no Docker engine), so
the test executes the build stage's own RUN lines with the image's paths mapped into a temporary
folder, then runs ENTRYPOINT + CMD exactly as the container would."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from operator_journal import CONFIGMAPS, configmap

from opframe.kube import KubeClient
from opframe.testing import ControlPlane

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _stages(dockerfile: str) -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages; ARGs before the first FROM are substituted with their defaults
    (PYTHON_IMAGE: what `docker build` uses when `make image` does not pass a local base)."""
    stages: list[list[tuple[str, str]]] = []
    defaults: dict[str, str] = {}
    for raw in dockerfile.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        if instruction == "ARG" and not stages:
            name, _, default = rest.partition("=")
            defaults[name] = default
            continue
        if instruction == "FROM":
            stages.append([])
            for name, default in defaults.items():
                rest = rest.replace("${" + name + "}", default)
        stages[-1].append((instruction, rest))
    return stages


def test_dockerfile_is_multi_stage_pinned_and_non_root() -> None:
    build, final = _stages((ROOT / "Dockerfile").read_text())
    base = build[0][1].split()[0]
    assert ":" in base and "latest" not in base and base.split(":")[1][0].isdigit()  # a pinned version
    assert final[0][1] == base
    final_runs = " ".join(rest for instruction, rest in final if instruction == "RUN")
    assert "pip" not in final_runs and "apt-get" not in final_runs  # no build tools in the final stage
    user = next(rest for instruction, rest in final if instruction == "USER")
    assert user.split(":")[0] not in ("0", "root")
    assert json.loads(next(rest for instruction, rest in final if instruction == "ENTRYPOINT")) == ["opframe", "run"]


def test_install_steps_in_a_fresh_venv_and_the_entrypoint_runs_an_operator(
        control_plane: ControlPlane, kube_client: KubeClient, namespace: str, tmp_path: Path) -> None:
    build, final = _stages((ROOT / "Dockerfile").read_text())
    image_root = tmp_path / "image"
    mapping = {"/opt/opframe": str(image_root / "opt" / "opframe"), "/src": str(image_root / "src")}

    def mapped(text: str) -> str:
        for inside, outside in mapping.items():
            text = text.replace(inside, outside)
        return text

    env = {**os.environ, "PIP_NO_CACHE_DIR": "0"}
    for instruction, rest in build[1:]:
        if instruction == "COPY":
            *sources, target = shlex.split(rest)
            destination = Path(mapped(target))
            destination.parent.mkdir(parents=True, exist_ok=True)
            for source in sources:
                origin = ROOT / source
                if origin.is_dir():
                    shutil.copytree(origin, destination, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    destination.mkdir(parents=True, exist_ok=True)
                    shutil.copy(origin, destination / origin.name)
        elif instruction == "RUN":
            command = mapped(rest).replace("python -m venv", f"{sys.executable} -m venv", 1)
            result = subprocess.run(command, shell=True, capture_output=True, text=True, env=env, timeout=600,
                                    check=False)
            assert result.returncode == 0, f"RUN {rest} failed:\n{result.stdout}\n{result.stderr}"
    venv_bin = Path(mapping["/opt/opframe"]) / "bin"
    assert (venv_bin / "opframe").exists()

    entrypoint = json.loads(next(rest for instruction, rest in final if instruction == "ENTRYPOINT"))
    operator_file = tmp_path / "operator.py"
    operator_file.write_text('from opframe import on\n\n@on.create("configmaps", labels={"app": "test"})\n'
                             'def created(name, logger, **_):\n    logger.info(f"image saw {name}")\n')
    process = subprocess.Popen(
        [str(venv_bin / entrypoint[0]), *entrypoint[1:], str(operator_file), "--kubeconfig",
         str(control_plane.kubeconfig), "-n", namespace],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={"PATH": f"{venv_bin}:/usr/bin:/bin", "PYTHONUNBUFFERED": "1", "HOME": str(tmp_path)})
    try:
        lines: list[str] = []
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "opframe started" in line:
                break
        kube_client.create(CONFIGMAPS, configmap(namespace, "from-image"))
        for line in process.stdout:
            lines.append(line)
            if "image saw from-image" in line:
                break
        assert any("image saw from-image" in line for line in lines), "".join(lines)
    finally:
        process.terminate()
        assert process.wait(30) == 0
