"""Driver option `fused`: collection and training in one compiled graph.

The driver itself is TF-Agents' `DynamicStepDriver`; choosing `fused` tells the trainer to
run it inside `rlexp.training.fused`'s loop, where each call does several iterations of
[collect `num_steps` env steps -> `train.train_steps_per_iteration` train steps sampled
from the buffer in-graph] without returning to Python. Nothing leaves the graph, so the
env must be a native TF env and the buffer a TF replay buffer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlexp.context import BuildContext
from rlexp.registry import register
from rlexp.schemas import ComponentConfig, bounded


@dataclass
class FusedDriverConfig(ComponentConfig):
    num_steps: int = bounded(1, gt=0, doc="env steps per collect iteration (all env copies)")

    needs_native_tf_env: ClassVar[bool] = True
    needs_in_graph_replay: ClassVar[bool] = True


@register(
    "driver",
    "fused",
    schema=FusedDriverConfig,
    doc="Collect + train in one tf.function, several iterations per call (native TF envs).",
)
def build_fused_driver(cfg: FusedDriverConfig, context: BuildContext):
    from tf_agents.drivers import dynamic_step_driver

    return dynamic_step_driver.DynamicStepDriver(
        context.env, context.policy, observers=context.observers, num_steps=cfg.num_steps
    )
