"""`TFUniformReplayBuffer`: uniform replay held in TensorFlow variables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlexp.context import BuildContext
from rlexp.registry import register
from rlexp.schemas import BufferConfig, bounded


@dataclass
class ReplayConfig(BufferConfig):
    """Sampling settings every replay buffer shares; the trainer reads them for `as_dataset`."""

    sample_batch_size: int = bounded(64, gt=0, doc="transitions per train batch")
    num_parallel_calls: int = bounded(3, gt=0, doc="parallel sampling calls of as_dataset")
    prefetch: int = bounded(3, ge=0, doc="batches prefetched ahead of training")


@dataclass
class TFUniformConfig(ReplayConfig):
    # The default experiment's: 100000 transitions over its 16 carts, batches of 256.
    max_length: int = bounded(6250, gt=0, doc="capacity per env copy (of env.num_parallel_envs)")
    sample_batch_size: int = bounded(256, gt=0, doc="transitions per train batch")

    in_graph_replay: ClassVar[bool] = True
    gathers_all: ClassVar[bool] = True  # gather_all(): on-policy agents' whole batch


@register("buffer", "tf_uniform", schema=TFUniformConfig, doc="Uniform replay in TF variables.")
def build_tf_uniform(cfg: TFUniformConfig, context: BuildContext):
    from tf_agents.replay_buffers import tf_uniform_replay_buffer

    return tf_uniform_replay_buffer.TFUniformReplayBuffer(
        data_spec=context.agent.collect_data_spec,
        batch_size=context.env.batch_size,
        max_length=cfg.max_length,
    )
