"""Driver options `fused` (collection and training in one compiled graph) and `auto`.

The driver itself is TF-Agents' `DynamicStepDriver`; choosing `fused` tells the trainer to
run it inside `rlexp.training.fused`'s loop, where each call does the iterations of
[collect `num_steps` env steps -> `train.train_steps_per_iteration` train steps sampled
from the buffer in-graph] up to the next trigger point without returning to Python.
Nothing leaves the graph, so the env must be a native TF env and the buffer a TF replay
buffer. `auto` (the default) is `fused` where that holds and `step` elsewhere, so
choosing any env or buffer just works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlexp.drivers.dynamic import StepDriverConfig, build_step_driver
from rlexp.registry import register
from rlexp.schemas import BufferConfig, DriverConfig, EnvConfig


@dataclass
class FusedDriverConfig(StepDriverConfig):
    needs_native_tf_env: ClassVar[bool] = True
    needs_in_graph_replay: ClassVar[bool] = True
    fuses: ClassVar[bool | None] = True


# Both options build the step driver; which loop runs it is the trainer's choice.
register(
    "driver",
    "fused",
    schema=FusedDriverConfig,
    doc="Collect + train in one tf.function, several iterations per call (native TF envs).",
)(build_step_driver)


@dataclass
class AutoDriverConfig(StepDriverConfig):
    """Fused exactly where it can be (`runs_fused`); the driver is the same."""

    fuses: ClassVar[bool | None] = None


register(
    "driver",
    "auto",
    schema=AutoDriverConfig,
    doc="fused for a native TF env with a TF replay buffer, else step (DynamicStepDriver).",
)(build_step_driver)


def runs_fused(env_cfg: EnvConfig, buffer_cfg: BufferConfig, driver_cfg: DriverConfig) -> bool:
    """Whether the fused loop runs for these typed group configs (or their schema classes),
    from their declared facts: the driver's `fuses`, and for `fuses=None` (auto) a native TF
    env (`python_env` False) with a buffer sampled in-graph (`in_graph_replay`)."""
    if driver_cfg.fuses is not None:
        return driver_cfg.fuses
    return not env_cfg.python_env and buffer_cfg.in_graph_replay
