"""`TFUniformReplayBuffer`: uniform replay held in TensorFlow variables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlexp.context import BuildContext, BuildError
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
    # The default experiment's: 100000 transitions over its 32 carts, batches of 128.
    max_length: int = bounded(3125, gt=0, doc="capacity per env copy (of env.num_parallel_envs)")
    sample_batch_size: int = bounded(128, gt=0, doc="transitions per train batch")

    in_graph_replay: ClassVar[bool] = True
    gathers_all: ClassVar[bool] = True  # gather_all(): on-policy agents' whole batch


@register("buffer", "tf_uniform", schema=TFUniformConfig, doc="Uniform replay in TF variables.")
def build_tf_uniform(cfg: TFUniformConfig, context: BuildContext):
    from tf_agents.replay_buffers import tf_uniform_replay_buffer

    check_fits(cfg, context.agent.collect_data_spec, context.env.batch_size or 1)
    return tf_uniform_replay_buffer.TFUniformReplayBuffer(
        data_spec=context.agent.collect_data_spec,
        batch_size=context.env.batch_size,
        max_length=cfg.max_length,
    )


def check_fits(cfg: ReplayConfig, data_spec, copies: int) -> None:
    """A buffer that allocates its whole capacity (`cfg.max_length` steps per env copy) at
    once: refuse one larger than the memory available, with the key to lower, instead of
    an out-of-memory error that cannot say which setting sized it."""
    import numpy as np
    import tensorflow as tf

    item = sum(int(np.prod(s.shape)) * s.dtype.size for s in tf.nest.flatten(data_spec))
    need, available = item * cfg.max_length * copies, _available_memory()
    if available is None or need <= available:
        return
    half = available // (2 * item * copies)
    half = max(1, round(half, 1 - len(str(half))))  # to 2 significant digits
    raise BuildError(
        f"buffer={cfg.name} would allocate {need / 2**30:.1f} GiB at once (buffer.max_length="
        f"{cfg.max_length} x {copies} env copies x {item:,} bytes per transition), more than "
        f"the {available / 2**30:.1f} GiB of memory available; lower buffer.max_length "
        f"({half} would take about half of it)"
    )


def _available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux's MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
