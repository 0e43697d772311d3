"""Declared facts: every schema subclasses its group's base, `register` refuses one that
does not or that misspells a fact, and validation and the loop choice read the facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
from conftest import PLUGINS

from rlexp import registry
from rlexp.buffers.py_uniform import PyUniformConfig
from rlexp.buffers.tf_uniform import TFUniformConfig
from rlexp.composition import compose_config
from rlexp.drivers.fused import runs_fused
from rlexp.envs.cartpole_tf import CartPoleTFConfig
from rlexp.envs.gym_suite import GymEnvConfig
from rlexp.schemas import GROUP_BASES, AgentConfig, ComponentConfig, declared_facts
from rlexp.validation import ConfigError

registry.load_builtins()


def test_every_registered_schema_subclasses_its_group_base():
    for component in registry.components():
        assert issubclass(component.schema, GROUP_BASES[component.group]), component


def test_register_refuses_a_schema_outside_its_group_base():
    @dataclass
    class LooseEnvConfig(ComponentConfig):
        size: int = 3

    with pytest.raises(registry.RegistryError, match=r"LooseEnvConfig.*must subclass.*EnvConfig"):
        registry.register("env", "loose", schema=LooseEnvConfig, doc="")
    assert "loose" not in registry.names("env")


@pytest.mark.parametrize("annotated", [True, False], ids=["classvar", "plain"])
def test_register_refuses_a_misspelt_fact(annotated):
    if annotated:

        @dataclass
        class TypoAgentConfig(AgentConfig):
            on_polcy: ClassVar[bool] = True

    else:

        @dataclass
        class TypoAgentConfig(AgentConfig):
            on_polcy = True

    with pytest.raises(registry.RegistryError, match=r"'on_polcy'.*facts: .*on_policy"):
        registry.register("agent", "typo", schema=TypoAgentConfig, doc="")
    assert "typo" not in registry.names("agent")


def test_group_bases_declare_the_facts_the_runner_reads():
    facts = {group: declared_facts(base) for group, base in GROUP_BASES.items()}
    assert {"python_env", "can_render", "image_observations", "requires_extra"} <= facts["env"]
    assert {"role", "recurrent", "action_kinds"} <= facts["network"]
    assert {"action_kinds", "network_roles", "on_policy"} <= facts["agent"]
    assert {"max_env_batch_size", "gathers_all", "in_graph_replay"} <= facts["buffer"]
    assert {
        "needs_python_env",
        "whole_episodes",
        "needs_native_tf_env",
        "needs_in_graph_replay",
        "fuses",
    } <= facts["driver"]


@pytest.mark.parametrize(
    ("driver", "fuses", "fused_with_tf_env_and_tf_buffer"),
    [("fused", True, True), ("auto", None, True), ("step", False, False), ("py", False, False)],
)
def test_builtin_drivers_declare_when_they_fuse(driver, fuses, fused_with_tf_env_and_tf_buffer):
    schema = registry.get("driver", driver).schema
    assert schema.fuses is fuses
    assert runs_fused(CartPoleTFConfig(), TFUniformConfig(), schema) is (
        fused_with_tf_env_and_tf_buffer
    )


def test_auto_fuses_only_a_native_tf_env_with_in_graph_replay():
    auto = registry.get("driver", "auto").schema
    assert runs_fused(CartPoleTFConfig(), TFUniformConfig(), auto)
    assert not runs_fused(GymEnvConfig(gym_id="CartPole-v1"), TFUniformConfig(), auto)
    assert not runs_fused(CartPoleTFConfig(), PyUniformConfig(), auto)


def test_a_plugin_driver_declaring_fuses_runs_fused_and_is_validated(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))
    cfg = compose_config(["plugins=[always_fused_driver]", "driver=always_fused"])
    from omegaconf import OmegaConf

    env, buffer, driver = (OmegaConf.to_object(cfg[g]) for g in ("env", "buffer", "driver"))
    assert runs_fused(env, buffer, driver)
    with pytest.raises(ConfigError, match=r"driver=always_fused runs collection inside one TF"):
        compose_config(["plugins=[always_fused_driver]", "driver=always_fused", "env=cartpole"])
