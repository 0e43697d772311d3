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
    )
}


def require(name: str) -> None:
    """Raise ImportError with the install command when extra `name` is not installed."""
    extra = EXTRAS[name]
    if not extra.installed():
        raise ImportError(
            f"the optional '{name}' extra ({extra.requirement}) is not installed; "
            f"install it with: {extra.install_command()}"
        )
