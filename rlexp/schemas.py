"""Typed schemas for the top-level config, and the helpers component schemas use.

Hydra enforces keys and types at compose time; the bounds declared with `bounded` are
checked by `rlexp.validation` before anything is built.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar  # noqa: UP035 (OmegaConf reads typing generics)

from omegaconf import MISSING


def bounded(
    default: Any = MISSING,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    doc: str = "",
    finite: bool = True,
) -> Any:
    """A dataclass field whose numeric value must lie in the given bounds.

    Every float must be finite (no inf, no nan) unless `finite=False`; every int must fit
    a signed 64-bit integer (TensorFlow's step counters are int64)."""
    metadata = {"ge": ge, "gt": gt, "le": le, "lt": lt, "doc": doc, "finite": finite}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def documented(default: Any = MISSING, doc: str = "") -> Any:
    """A dataclass field with a one-line doc for `rlexp list`."""
    return bounded(default, doc=doc)


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
class ComponentConfig:
    """Base of every component schema: `name` is the registry key that builds it.

    Each group has a base class below (EnvConfig, NetworkConfig, ...) declaring the group's
    static facts as `ClassVar`s with defaults: validation and the runner read them as
    attributes without building anything, and `registry.register` refuses a schema that does
    not subclass its group's base or sets a class attribute that is not a declared fact (a
    misspelt fact would otherwise be ignored).
    """

    name: str = MISSING

    # The optional extra (`rlexp.extras`) the option needs, e.g. "reverb"; None = none.
    requires_extra: ClassVar[str | None] = None


@dataclass
class EnvConfig(ComponentConfig):
    """Base of `env` schemas. Facts: `python_env` (True: built from Python environments in a
    TFPyEnvironment, so a py driver can step it; False: a native TF environment),
    `can_render` (its Python env renders rgb_array frames, for `rlexp eval video=true`) and
    `image_observations` (observations are images). `action_kind()` is a method because
    wrappers or a gym id can decide it."""

    python_env: ClassVar[bool] = True
    can_render: ClassVar[bool] = False
    image_observations: ClassVar[bool] = False

    def action_kind(self) -> ActionKind:
        """The kind of action the configured env takes; unknown = not checked."""
        return ActionKind.unknown

    def base_action_shape(self) -> tuple[int, ...] | None:
        """The action shape of the option's own env, before any wrappers (None = not known
        without building it): validation offers ActionDiscretizeWrapper for one element."""
        return None


@dataclass
class NetworkConfig(ComponentConfig):
    """Base of `network` schemas. Facts: `role` (what it computes; None = undeclared, not
    checked against the agent), `recurrent` (needs whole sequences to train) and
    `action_kinds` (the action kinds it can output)."""

    role: ClassVar[NetworkRole | None] = None
    recurrent: ClassVar[bool] = False
    action_kinds: ClassVar[tuple[ActionKind, ...]] = (ActionKind.discrete, ActionKind.continuous)

    def has_conv_layers(self) -> bool:
        """Whether it can take image observations (conv layers before its dense layers)."""
        return False


@dataclass
class AgentConfig(ComponentConfig):
    """Base of `agent` schemas. Facts: `action_kinds` (the action kinds it can act in),
    `network_roles` (the roles its primary network, the `network` group, may have) and
    `on_policy` (True: trains on the episodes just collected, then empties the buffer;
    False: samples replay)."""

    action_kinds: ClassVar[tuple[ActionKind, ...]] = (ActionKind.discrete, ActionKind.continuous)
    network_roles: ClassVar[tuple[NetworkRole, ...]] = tuple(NetworkRole)
    on_policy: ClassVar[bool] = False

    def replay_steps(self) -> int | None:
        """Steps in each sample it replays from its buffer, with these settings (None: it
        replays none)."""
        return None

    def reports_td_errors(self) -> bool:
        """Whether its train() reports one TD error per sample (LossInfo.extra.td_error),
        with these settings, as a buffer with `needs_td_errors` needs."""
        return False


@dataclass
class BufferConfig(ComponentConfig):
    """Base of `buffer` schemas. Facts: `max_env_batch_size` (the most env copies one buffer
    can be fed from; None = any), `gathers_all` (can hand over everything it holds, as
    on-policy agents need), `in_graph_replay` (sampled inside a tf.function),
    `needs_td_errors` (its priorities are the agent's TD error of each sample) and
    `checkpointed` (rlexp's checkpoints hold its contents, so a resume restores them)."""

    max_env_batch_size: ClassVar[int | None] = None
    gathers_all: ClassVar[bool] = False
    in_graph_replay: ClassVar[bool] = False
    needs_td_errors: ClassVar[bool] = False
    checkpointed: ClassVar[bool] = True


@dataclass
class DriverConfig(ComponentConfig):
    """Base of `driver` schemas. Facts: `needs_python_env`, `whole_episodes` (collects whole
    episodes, as on-policy agents need), `needs_native_tf_env` and `needs_in_graph_replay`
    (nothing may leave the graph), and `fuses`: True = always runs the fused in-graph
    collect+train loop, False = never, None = exactly when the env is a native TF env
    (`python_env` False) and the buffer has `in_graph_replay` (`rlexp.drivers.fused.runs_fused`)."""

    needs_python_env: ClassVar[bool] = False
    whole_episodes: ClassVar[bool] = False
    needs_native_tf_env: ClassVar[bool] = False
    needs_in_graph_replay: ClassVar[bool] = False
    fuses: ClassVar[bool | None] = False


@dataclass
class WrapperConfig(ComponentConfig):
    """Base of `wrapper` schemas (entries of `env.wrappers`). Facts: `needs_action_kind` (the
    wrapped env must take that kind of action) and `gives_action_kind` (the kind the wrapped
    env then takes); None = any / unchanged."""

    needs_action_kind: ClassVar[ActionKind | None] = None
    gives_action_kind: ClassVar[ActionKind | None] = None


GROUP_BASES: dict[str, type[ComponentConfig]] = {
    "env": EnvConfig,
    "network": NetworkConfig,
    "agent": AgentConfig,
    "buffer": BufferConfig,
    "driver": DriverConfig,
    "wrapper": WrapperConfig,
}


def declared_facts(schema: type) -> set[str]:
    """Names of the class-level facts a schema class declares (its `ClassVar`s and its bases')."""
    return {
        name
        for cls in schema.__mro__
        for name, hint in vars(cls).get("__annotations__", {}).items()
        if "ClassVar" in str(hint)
    }


@dataclass
class TrainConfig:
    """The run's budget and schedule. The defaults are the default experiment's (DQN on the
    native batched TF CartPole, fused loop), tuned for the wall time to a first solve
    (docs/performance.md); presets in conf/experiment/ set their own."""

    env_steps: int = bounded(
        56_000, gt=0, doc="env-step budget of the run (default experiment: all 5 seeds solve)"
    )
    prefill_steps: int = bounded(
        1000, ge=0, doc="random-policy steps before training (off-policy agents)"
    )
    train_steps_per_iteration: int = bounded(
        256,
        ge=0,
        doc="gradient steps per iteration, after driver.num_steps env steps (off-policy "
        "agents; an on-policy agent trains once per iteration)",
    )
    eval_interval: int = bounded(
        1024, gt=0, doc="env steps between greedy evaluations (catches the first solve)"
    )
    eval_episodes: int = bounded(
        32,
        gt=0,
        le=2**20,
        doc="episodes per evaluation (policy_best/ is chosen on them); a Python env of B "
        "copies plays ceil(N/B) on each, all counted",
    )
    summary_interval: int = bounded(2048, gt=0, doc="env steps between TensorBoard scalars")
    checkpoint_interval: int = bounded(
        30_000,
        gt=0,
        doc="env steps between checkpoints (each starts a segment: docs/how-to/resume.md)",
    )
    checkpoints_to_keep: int = bounded(2, gt=0, doc="checkpoints kept on disk")
    video_interval: int = bounded(
        0, ge=0, doc="env steps between videos of a greedy episode (videos/<step>.mp4); 0 = off"
    )
    progress: bool | None = documented(None, "progress bar; null = only on a terminal")
    stop_when_solved: bool = documented(
        False, "end the run at the first evaluation >= the env's reward threshold"
    )
    jit_compile: bool = documented(
        True, "XLA-compile the fused loop (driver=fused); false = TF's graph mode, ~2x slower"
    )


@dataclass
class SweepConfig:
    """How a job of a sweep (`rlexp -m ...`) runs; a single `rlexp train` ignores it."""

    objective: str = documented(
        "final_eval_return", "metrics.json result a sweep job returns (Optuna optimises it)"
    )
    intra_op_threads: int = bounded(1, ge=0, doc="TF intra-op threads per sweep run; 0 = TF's")
    inter_op_threads: int = bounded(1, ge=0, doc="TF inter-op threads per sweep run; 0 = TF's")
    fork_server: bool = documented(
        True, "start each run as a fork of a worker process that imported TensorFlow once"
    )


SEED_MAX = 2**32 - 1  # NumPy's and gym's seed range
FLOAT32_MAX = 3.4e38  # bound of a setting TensorFlow uses as float32 (above: inf)


@dataclass
class RlexpConfig:
    seed: int = bounded(
        0, ge=0, le=SEED_MAX, doc="run seed: Python, NumPy, TensorFlow and the envs"
    )
    deterministic: bool = documented(
        True, "TF op determinism: same seed, same results (benchmarks/determinism_cost.py)"
    )
    plugins: list[str] = documented(
        [], "modules with your own components (registered with @rlexp.registry.register)"
    )
    repeat: int = bounded(1, gt=0, doc="seeds per sweep point: seed, seed+1, ..., seed+repeat-1")
    sweep: SweepConfig = field(default_factory=SweepConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    env: Any = MISSING
    network: Any = MISSING
    agent: Any = MISSING
    buffer: Any = MISSING
    driver: Any = MISSING
    logger: Any = MISSING  # rlexp/loggers/schemas.py: tensorboard (default) or mlflow


def field_doc(f: dataclasses.Field) -> str:
    return f.metadata.get("doc", "") if f.metadata else ""


def store_root_schema() -> None:
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="rlexp_schema", node=RlexpConfig)
    from rlexp.loggers.schemas import store_logger_schemas

    store_logger_schemas()
