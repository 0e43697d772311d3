"""The sweeper and launcher presets compose as documented (each needs its extra; a preset
whose plugin is not installed is skipped)."""

from __future__ import annotations

import importlib.util

import pytest


def compose_hydra(*overrides: str):
    from hydra import compose, initialize_config_dir

    from rlexp import registry
    from rlexp.composition import prepare_registry

    prepare_registry(list(overrides))
    with initialize_config_dir(config_dir=str(registry.CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=True)


def needs(module: str):
    missing = importlib.util.find_spec(module) is None
    return pytest.mark.skipif(missing, reason=f"{module} is not installed")


def test_joblib_preset_uses_every_core():
    cfg = compose_hydra("hydra/launcher=joblib_cores")
    assert cfg.hydra.launcher.n_jobs == -1


@needs("hydra_plugins.hydra_ray_launcher")
def test_ray_presets():
    local = compose_hydra("hydra/launcher=ray_local").hydra.launcher
    assert local._target_.endswith("RayLauncher")
    assert local.ray.init.address == "local" and local.ray.remote.num_cpus == 1
    cluster = compose_hydra("hydra/launcher=ray_cluster").hydra.launcher
    assert cluster.ray.init.address == "auto"
    # joining a cluster: Ray refuses an object store size, and the launcher only sets its
    # default when the key is absent
    assert "object_store_memory" in cluster.ray.init
    assert cluster.ray.init.object_store_memory is None


@needs("hydra_plugins.hydra_submitit_launcher")
def test_slurm_preset():
    hydra = compose_hydra("hydra/launcher=slurm").hydra
    launcher = hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert launcher.cpus_per_task == 1 and launcher.timeout_min > 0
    assert launcher.submitit_folder == f"{hydra.sweep.dir}/.submitit/%j"


@needs("hydra_plugins.hydra_optuna_sweeper")
def test_optuna_preset():
    hydra = compose_hydra("hydra/sweeper=optuna_study").hydra
    sweeper = hydra.sweeper
    assert sweeper.direction == "maximize"
    assert sweeper.storage == f"sqlite:///{hydra.sweep.dir}/optuna.db"  # in the sweep folder
    assert sweeper.max_failure_rate == 1.0
    assert set(sweeper.params) == {"agent.learning_rate", "agent.gamma"}
