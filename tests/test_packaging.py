"""The built wheel carries rlexp's configs: installed without the checkout on the path, its
`rlexp train --cfg job` and `rlexp list` work from an empty directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, _subprocess_env
from omegaconf import OmegaConf

from rlexp.schemas import TrainConfig

CONF = ROOT / "rlexp" / "conf"
TIMEOUT = 600


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the sources (the build leaves nothing in the checkout)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "rlexp", source / "rlexp", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)]
    subprocess.run(command, check=True, capture_output=True, timeout=TIMEOUT)
    (built,) = out.glob("rlexp-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target)]
    subprocess.run([*command, str(wheel)], check=True, capture_output=True, timeout=TIMEOUT)
    return target


def test_wheel_holds_every_config_file(wheel):
    with zipfile.ZipFile(wheel) as archive:
        packaged = {n for n in archive.namelist() if n.startswith("rlexp/conf/")}
    expected = {f"rlexp/conf/{p.relative_to(CONF).as_posix()}" for p in CONF.rglob("*.yaml")}
    assert expected, "no config files in the checkout"
    assert packaged == expected


def run_installed(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`rlexp <args>` from the installed copy, checked to be the one that runs."""
    code = (
        "import os, sys, rlexp\n"
        f"root = {str(ROOT)!r}\n"
        "assert rlexp.__file__.startswith(sys.argv[1]), rlexp.__file__\n"
        "assert root not in sys.path and not os.getcwd().startswith(root), sys.path\n"
        "from rlexp.cli import main\n"
        "sys.exit(main(sys.argv[2:]))\n"
    )
    env = _subprocess_env()
    env["PYTHONPATH"] = str(target)
    command = [sys.executable, "-c", code, str(target), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_installed_wheel_composes_and_lists_from_an_empty_directory(installed, tmp_path):
    job = run_installed(installed, tmp_path, "train", "--cfg", "job")
    assert job.returncode == 0, job.stderr
    budget = f"env_steps: {TrainConfig().env_steps}"  # the schema's default, from the wheel
    assert "name: cartpole_tf" in job.stdout and budget in job.stdout
    listed = run_installed(installed, tmp_path, "list", "agent")
    assert listed.returncode == 0, listed.stderr
    dqn = OmegaConf.load(CONF / "agent" / "dqn.yaml")
    assert f"learning_rate: float = {dqn.learning_rate}" in listed.stdout  # from the wheel
    assert list(tmp_path.iterdir()) == [], "the commands wrote into the working directory"
