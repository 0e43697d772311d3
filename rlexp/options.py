"""An option's values as a run that selects it gets them, read without composing a config.

The values are the option's schema defaults, then what its YAML file deliberately changes,
and the sub-nodes its defaults list composes from other options (PPO's
`agent.value_network` from `network/value_network.yaml`). `rlexp list` prints them; a test
checks they equal what Hydra composes for `<group>=<option>`. No TensorFlow here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rlexp import registry

# A defaults-list entry composing another group's option into a key: `/network/x@value_network`.
_SUB_NODE = re.compile(r"/(\w+)/(\w+)@(\w+)")


def option_file(group: str, name: str, dirs: Sequence[Path] = ()) -> Path | None:
    """The option's YAML file: in rlexp/conf, else in the user's config dirs (Hydra's order).
    A name is a name: one that leads out of the group's folder (`../x`) finds nothing."""
    for directory in (registry.CONF_DIR, *dirs):
        folder = (Path(directory) / group).resolve()
        path = (folder / f"{name}.yaml").resolve()
        if path.is_relative_to(folder) and path.is_file():
            return path
    return None


def option_node(group: str, name: str, dirs: Sequence[Path] = ()) -> DictConfig:
    """The typed node of option `name` of `group`: schema defaults, sub-nodes, YAML values.

    Interpolations are left unresolved (they may point into the rest of a config).
    """
    node = OmegaConf.structured(registry.get(group, name).schema)
    path = option_file(group, name, dirs)
    if path is not None:
        values = OmegaConf.load(path)
        for entry in values.pop("defaults", None) or []:
            match = _SUB_NODE.fullmatch(str(entry))
            if match and match[1] in registry.CONFIG_GROUPS:
                sub_node = option_node(match[1], match[2], dirs)
                node = OmegaConf.merge(node, {match[3]: sub_node})
        node = OmegaConf.merge(node, values)
    node.name = name
    return node
