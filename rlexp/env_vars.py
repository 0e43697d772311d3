"""Environment variables, `${oc.env:NAME}` or `${oc.env:NAME,default}`, are recorded as the
values a run trained with.

In overrides they are expanded before Hydra sees them, as a shell expands `$NAME`. In a
preset or option file they are resolved in the composed config (`record_env_values`) when
the run starts, and its `.hydra/config.yaml` is rewritten with the values. Left to Hydra,
the run's saved config and overrides would hold the interpolation, not the value: `rlexp
report` would pool runs trained with different values as one configuration, `rlexp resume`
could go on under other values, and `rlexp eval` would need the variable set to read the
run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf, read_write
from omegaconf.errors import InterpolationResolutionError

from rlexp import rundir

ENV_INTERPOLATION = re.compile(r"\$\{oc\.env:([A-Za-z_][A-Za-z0-9_]*)(?:,([^{}]*))?\}")


class EnvVarError(ValueError):
    """An override names an environment variable that is not set and has no default."""


def expand_env_vars(overrides: list[str]) -> list[str]:
    """`overrides` with every `${oc.env:NAME[,default]}` replaced by the variable's value
    (or the default, as written, when it is unset)."""
    return [ENV_INTERPOLATION.sub(_value, text) for text in overrides]


def _value(match: re.Match) -> str:
    name, default = match.group(1), match.group(2)
    if name in os.environ:
        return os.environ[name]
    if default is not None:
        return default.strip()
    raise EnvVarError(
        f"{match.string}: the environment variable {name} is not set; set it, or give a default "
        f"(${{oc.env:{name},<value>}})"
    )


def record_env_values(cfg: DictConfig, run_dir: Path | None = None) -> list[str]:
    """Replace, in place, each value of `cfg` that reads an environment variable (any
    interpolation using `oc.env`) with the value it resolves to now; `hydra.*` keeps its
    interpolations (Hydra resolves them itself). With `run_dir`, rewrite the run's
    `.hydra/config.yaml` from `cfg` when anything was replaced. Returns the keys replaced.
    A variable that is unset and has no default is left as written: validation names it."""
    replaced: list[str] = []
    with read_write(cfg):
        _record(cfg, "", replaced)
    if replaced and run_dir is not None and rundir.config_path(run_dir).is_file():
        OmegaConf.save(cfg, rundir.config_path(run_dir))
    return replaced


def _record(node: DictConfig | ListConfig, prefix: str, replaced: list[str]) -> None:
    keys = range(len(node)) if isinstance(node, ListConfig) else list(node.keys())
    for key in keys:
        name = f"{prefix}[{key}]" if isinstance(key, int) else f"{prefix}{key}"
        if name == "hydra":
            continue
        child = node._get_node(key)
        if OmegaConf.is_interpolation(node, key):
            if "oc.env:" in str(child._value()):
                try:
                    node[key] = node[key]
                except InterpolationResolutionError:
                    continue
                replaced.append(name)
        elif isinstance(child, DictConfig | ListConfig) and not child._is_missing():
            _record(child, f"{name}." if isinstance(child, DictConfig) else name, replaced)
