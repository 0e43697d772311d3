"""One source of defaults: a schema's defaults are the values, an option's YAML file only
changes some on purpose, and `rlexp list` shows exactly what a run selecting an option gets."""

from __future__ import annotations

import dataclasses
import re
from functools import cache

import pytest
from conftest import EXAMPLES, invoke_main
from omegaconf import DictConfig, OmegaConf

from rlexp import registry
from rlexp.composition import prepare_registry
from rlexp.schemas import RlexpConfig

# The examples' plugin options have no YAML file: `rlexp list` shows their schema defaults.
PLUGINS = "plugins=[coin_flip,target_line]"
registry.load_builtins()
OPTIONS = [(c.group, c.name) for c in registry.components() if c.group in registry.CONFIG_GROUPS]
PLUGIN_OPTIONS = [("env", "coin_flip"), ("env", "target_line")]


@pytest.fixture(autouse=True)
def _plugins(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    prepare_registry([PLUGINS])


def composed(group: str, name: str) -> DictConfig:
    """The `group` node of the config a run with `group=name` composes (not validated)."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(registry.CONF_DIR), version_base="1.3"):
        return compose("config", overrides=[PLUGINS, f"{group}={name}"])[group]


def shown(value) -> str:
    value = getattr(value, "value", value)
    return "null" if value is None else str(value)


def flat(node: DictConfig, prefix: str = "") -> dict[str, str]:
    """`key: value` of every field as `rlexp list` names them (`epsilon_greedy.final`); a
    sub-node composed from another option shows that option's name under its own key."""
    values = OmegaConf.to_container(node, resolve=False)
    result = {}
    for key in node:
        if key == "name":
            continue
        if dataclasses.is_dataclass(OmegaConf.get_type(node, key)):
            if "name" in node[key]:
                result[f"{prefix}{key}"] = node[key].name
            result.update(flat(node[key], f"{prefix}{key}."))
        else:
            result[f"{prefix}{key}"] = shown(values[key])
    return result


@cache
def listed(group: str) -> dict[str, list[str]]:
    """The field lines `rlexp list <group>` prints under each option."""
    result = invoke_main("list", group, PLUGINS)
    assert result.code == 0, result.describe()
    sections: dict[str, list[str]] = {}
    for line in result.out.splitlines():
        if re.match(r"^  \S", line):
            sections[line.split()[0]] = current = []
        elif line.startswith("      "):
            current.append(line)
    return sections


@pytest.mark.parametrize(("group", "name"), OPTIONS + PLUGIN_OPTIONS)
def test_rlexp_list_shows_the_values_a_run_gets(group, name):
    expected = flat(composed(group, name))
    lines = listed(group)[name]
    keys = [re.match(r"^      ([\w.]+): ", line)[1] for line in lines]
    assert sorted(keys) == sorted(expected), f"{group}={name}: listed fields differ from a run's"
    for key, line in zip(keys, lines, strict=True):
        value = re.escape(expected[key])
        assert re.match(rf"^      {re.escape(key)}: [^=]* = {value}(\s|$)", line), (
            f"{group}={name}: `rlexp list` shows {line.strip()!r}, a run gets {expected[key]!r}"
        )


def _restated(values: dict, defaults: dict, prefix: str = "") -> list[str]:
    found = []
    for key, value in values.items():
        default = defaults.get(key)
        if isinstance(value, dict) and isinstance(default, dict):
            found += _restated(value, default, f"{prefix}{key}.")
        elif key != "name" and key in defaults and value == shown(default):
            found.append(f"{prefix}{key}: {value}")
        elif key != "name" and key in defaults and value == default:
            found.append(f"{prefix}{key}: {value}")
    return found


@pytest.mark.parametrize(("group", "name"), OPTIONS)
def test_option_yaml_restates_no_schema_default(group, name):
    path = registry.CONF_DIR / group / f"{name}.yaml"
    values = OmegaConf.to_container(OmegaConf.load(path))
    values.pop("defaults", None)
    defaults = OmegaConf.to_container(OmegaConf.structured(registry.get(group, name).schema))
    restated = _restated(values, defaults)
    assert not restated, f"{path} restates its schema's defaults: {restated}; delete those lines"


def test_config_yaml_restates_no_root_schema_default():
    values = OmegaConf.to_container(OmegaConf.load(registry.CONF_DIR / "config.yaml"))
    for key in ("defaults", "hydra"):
        values.pop(key, None)
    restated = _restated(values, OmegaConf.to_container(OmegaConf.structured(RlexpConfig)))
    assert not restated, f"rlexp/conf/config.yaml restates RlexpConfig's defaults: {restated}"


def test_collect_steps_have_one_key():
    """`driver.num_steps` is the only key for env steps per collect iteration."""
    assert "collect_steps_per_iteration" not in OmegaConf.structured(RlexpConfig).train
    result = invoke_main("train", "train.collect_steps_per_iteration=8", "--cfg", "job")
    assert result.code != 0
    assert "collect_steps_per_iteration" in result.err
