"""Compose a config exactly as `rlexp train` does, for tests, notebooks and benchmarks."""

from __future__ import annotations

import re
from collections.abc import Sequence

from omegaconf import DictConfig, OmegaConf

from rlexp import registry


def prepare_registry(overrides: Sequence[str]) -> None:
    """Register built-ins, the plugins the config names, and their schemas in ConfigStore."""
    from rlexp.schemas import store_root_schema

    registry.load_builtins()
    registry.load_plugins(plugin_modules(overrides))
    registry.store_schemas()
    store_root_schema()


def plugin_modules(overrides: Sequence[str]) -> list[str]:
    """The `plugins` the config will name, read before Hydra composes it.

    Plugins must be imported before composition because they add config options. They
    come from rlexp/conf/config.yaml, a selected experiment preset, and a `plugins=[...]` override.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    modules = list(OmegaConf.load(registry.CONF_DIR / "config.yaml").get("plugins", []))
    relevant = [o for o in overrides if re.match(r"^\+{0,2}(plugins|experiment)=", o)]
    for override in OverridesParser.create().parse_overrides(relevant):
        value = override.value()
        if override.key_or_group == "experiment" and isinstance(value, str):
            preset = registry.CONF_DIR / "experiment" / f"{value}.yaml"
            if preset.exists():
                modules += list(OmegaConf.load(preset).get("plugins", []))
        elif override.key_or_group == "plugins":
            modules = list(value) if isinstance(value, list) else [value]
    return modules


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The validated config for `overrides`; raises ConfigError or Hydra's errors."""
    from hydra import compose, initialize_config_dir

    from rlexp.validation import validate

    prepare_registry(overrides)
    with initialize_config_dir(config_dir=str(registry.CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=list(overrides))
    validate(cfg)
    return cfg
