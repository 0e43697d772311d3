"""Environment variables in overrides, `${oc.env:NAME}` or `${oc.env:NAME,default}`, are
expanded before Hydra sees them, as a shell expands `$NAME`.

Left to Hydra, the run's saved config and overrides would hold the interpolation, not the
value: `rlexp resume` would compare it with the value of the moment and refuse even an
unchanged run, and `rlexp eval` and `rlexp report` would need the variable set to read the
run. Expanded, the run directory records the value it trained with.
"""

from __future__ import annotations

import os
import re

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
