"""Optional extras: packages some options need that the base install leaves out.

A schema names the extra it needs in a `requires_extra` class attribute; validation checks
the package is importable (without importing it) and otherwise prints the install command.
Each extra is also an optional-dependency group in pyproject.toml.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Extra:
    name: str
    module: str  # the import name that must be findable
    requirement: str  # the pinned pip requirement

    def installed(self) -> bool:
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):
            return False

    def install_command(self) -> str:
        return f"pip install 'rlexp[{self.name}]' (or: pip install {self.requirement})"


EXTRAS = {
    extra.name: extra
    for extra in (
        Extra("reverb", "reverb", "dm-reverb==0.14.0"),
        Extra("gymnasium", "gymnasium", "gymnasium==1.3.0"),
        Extra(
            "atari",
            "ale_py",
            "gymnasium==1.3.0 ale-py==0.12.1 opencv-python-headless==4.11.0.86",
        ),
        Extra("dm_control", "dm_control", "dm-control==1.0.50 mujoco==3.17.0"),
        Extra("minatar", "minatar", "minatar==1.0.15"),
        Extra("video", "imageio_ffmpeg", "imageio==2.38.1 imageio-ffmpeg==0.8.1"),
        Extra("mlflow", "mlflow", "mlflow==1.26.1 'sqlalchemy>=1.4,<2' 'alembic<1.13'"),
        Extra("optuna", "hydra_plugins.hydra_optuna_sweeper", "hydra-optuna-sweeper==1.3.0"),
        Extra("ray", "hydra_plugins.hydra_ray_launcher", "hydra-ray-launcher==1.2.2"),
        Extra(
            "submitit", "hydra_plugins.hydra_submitit_launcher", "hydra-submitit-launcher==1.2.0"
        ),
    )
}
# Hydra plugin configs (`hydra/<group>/<name>`) by the extra that provides them.
PLUGIN_CONFIGS = {
    "hydra/sweeper/optuna": "optuna",
    "hydra/launcher/ray": "ray",
    "hydra/launcher/submitit": "submitit",
}


def missing_problem(name: str | None, option: str, instead: str) -> str | None:
    """Why `option` (as `group=name`) cannot be used, when extra `name` is not installed:
    the install command, or `instead` (None: nothing is missing)."""
    extra = EXTRAS.get(name or "")
    if extra is None or extra.installed():
        return None
    return (
        f"{option} needs the optional '{extra.name}' extra ({extra.requirement}), which is "
        f"not installed; install it with: {extra.install_command()}; or {instead}"
    )


def require(name: str) -> None:
    """Raise ImportError with the install command when extra `name` is not installed."""
    extra = EXTRAS[name]
    if not extra.installed():
        raise ImportError(
            f"the optional '{name}' extra ({extra.requirement}) is not installed; "
            f"install it with: {extra.install_command()}"
        )


def missing_plugin_hint(text: str) -> str:
    """For Hydra's "Could not load 'hydra/launcher/ray...'" (a plugin whose extra is not
    installed): the install command; else ''."""
    for config, name in PLUGIN_CONFIGS.items():
        if f"Could not load '{config}" in text and not EXTRAS[name].installed():
            return f" (the '{name}' extra is not installed: {EXTRAS[name].install_command()})"
    return ""
