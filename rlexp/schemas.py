"""Typed schemas for the top-level config, and the helpers component schemas use.

Hydra enforces keys and types at compose time; the bounds declared with `bounded` are
checked by `rlexp.validation` before anything is built.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any  # noqa: UP035 (OmegaConf reads typing generics)

from omegaconf import MISSING


def bounded(
    default: Any = MISSING,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    doc: str = "",
) -> Any:
    """A dataclass field whose numeric value must lie in the given bounds."""
    metadata = {"ge": ge, "gt": gt, "le": le, "lt": lt, "doc": doc}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def documented(default: Any = MISSING, doc: str = "") -> Any:
    """A dataclass field with a one-line doc for `rlexp list`."""
    return bounded(default, doc=doc)


@dataclass
class ComponentConfig:
    """Base of every component schema: `name` is the registry key that builds it.

    Besides its fields, a schema may declare static facts that validation reads without
    building anything (class attributes, or methods of the config object):

    - `requires_extra`: the optional extra (`rlexp.extras`) the option needs, e.g. "reverb";
    - env: `action_kind()` (an ActionKind) and `python_env` (True: built from Python
      environments, so a py driver can step it; False: a native TF environment);
    - agent: `action_kinds`, the ActionKinds it can act in; `network_roles`, the
      NetworkRoles its primary network (the `network` group) may have; `on_policy` (True:
      trains on the episodes just collected, then empties the buffer; False: samples replay);
    - network: `role` (a NetworkRole) and `recurrent` (True: needs whole sequences to train);
    - driver: `needs_python_env`; `whole_episodes` (collects whole episodes: on-policy);
      `needs_native_tf_env` and `needs_in_graph_replay` (the fused driver: nothing may
      leave the graph);
    - buffer: `max_env_batch_size`, the most env copies one buffer can be fed from;
      `gathers_all` (can hand over everything it holds: on-policy agents); `in_graph_replay`
      (True: sampled inside a tf.function with `get_next`).
    """

    name: str = MISSING


class ActionKind(StrEnum):
    """The kind of action an env takes: a static fact, declared rather than measured."""

    discrete = "discrete"
    continuous = "continuous"
    unknown = "unknown"


class NetworkRole(StrEnum):
    """What a network computes, which decides the agents it can serve (a static fact)."""

    q_values = "q_values"  # one Q-value per discrete action
    q_distributions = "q_distributions"  # a return distribution per action (C51)
    actor = "actor"  # a distribution over actions
    value = "value"  # V(observation)
    critic = "critic"  # Q(observation, action)


@dataclass
class TrainConfig:
    env_steps: int = bounded(50_000, gt=0, doc="env-step budget of the run")
    prefill_steps: int = bounded(1000, ge=0, doc="random-policy steps before training")
    collect_steps_per_iteration: int = bounded(1, gt=0, doc="env steps collected per iteration")
    train_steps_per_iteration: int = bounded(1, ge=0, doc="gradient steps per iteration")
    eval_interval: int = bounded(5000, gt=0, doc="env steps between greedy evaluations")
    eval_episodes: int = bounded(10, gt=0, doc="episodes per evaluation")
    summary_interval: int = bounded(1000, gt=0, doc="env steps between TensorBoard scalars")
    checkpoint_interval: int = bounded(10_000, gt=0, doc="env steps between checkpoints")
    checkpoints_to_keep: int = bounded(2, gt=0, doc="checkpoints kept on disk")
    progress: bool | None = documented(None, "progress bar; null = only on a terminal")
    stop_when_solved: bool = documented(
        False, "end the run at the first evaluation >= the env's reward threshold"
    )
    jit_compile: bool = documented(
        False, "XLA-compile the fused loop's train steps (driver=fused): faster, other results"
    )


@dataclass
class SweepConfig:
    """How a job of a sweep (`rlexp -m ...`) runs; a single `rlexp train` ignores it."""

    objective: str = documented(
        "final_eval_return", "metrics.json key a sweep job returns (Optuna optimises it)"
    )
    intra_op_threads: int = bounded(1, ge=0, doc="TF intra-op threads per sweep run; 0 = TF's")
    inter_op_threads: int = bounded(1, ge=0, doc="TF inter-op threads per sweep run; 0 = TF's")


@dataclass
class RlexpConfig:
    seed: int = bounded(0, ge=0, doc="run seed: Python, NumPy, TensorFlow and the envs")
    deterministic: bool = documented(True, "TF op determinism: same seed, same results")
    plugins: list[str] = field(default_factory=list)
    repeat: int = bounded(1, gt=0, doc="seeds per sweep point: seed, seed+1, ..., seed+repeat-1")
    sweep: SweepConfig = field(default_factory=SweepConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    env: Any = MISSING
    network: Any = MISSING
    agent: Any = MISSING
    buffer: Any = MISSING
    driver: Any = MISSING


def field_doc(f: dataclasses.Field) -> str:
    return f.metadata.get("doc", "") if f.metadata else ""


def store_root_schema() -> None:
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="rlexp_schema", node=RlexpConfig)
