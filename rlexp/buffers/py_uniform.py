"""`PyUniformReplayBuffer`: uniform replay held in NumPy arrays, outside the TF graph."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rlexp.buffers.replay_io import ReplayIO, attach, numpy_observer
from rlexp.buffers.tf_uniform import ReplayConfig, check_fits
from rlexp.context import BuildContext
from rlexp.registry import register
from rlexp.schemas import bounded


@dataclass
class PyUniformConfig(ReplayConfig):
    max_length: int = bounded(100_000, gt=0, doc="capacity in steps")

    # TF-Agents' PyUniformReplayBuffer takes batches of one step: one env copy.
    max_env_batch_size: ClassVar[int | None] = 1


class PyUniformIO(ReplayIO):
    """NumPy writes (through tf.numpy_function in a compiled driver); samples are bare
    experience; as_dataset takes no num_parallel_calls."""

    def observer(self, buffer: Any):
        if self._observer is None:
            self._observer = numpy_observer(buffer.add_batch)
        return self._observer

    def dataset(self, buffer: Any, cfg: Any, num_steps: int):
        return buffer.as_dataset(
            sample_batch_size=cfg.sample_batch_size, num_steps=num_steps
        ).prefetch(cfg.prefetch)

    def train(self, buffer: Any, agent: Any, sample: Any):
        return agent.train(sample)


@register(
    "buffer",
    "py_uniform",
    schema=PyUniformConfig,
    doc="Uniform replay in NumPy (PyUniformReplayBuffer); one env copy.",
)
def build_py_uniform(cfg: PyUniformConfig, context: BuildContext):
    from tf_agents.replay_buffers import py_uniform_replay_buffer
    from tf_agents.specs import tensor_spec

    # NumpyStorage allocates its arrays whole, at the first write (in the prefill).
    check_fits(cfg, context.agent.collect_data_spec, copies=1)
    buffer = py_uniform_replay_buffer.PyUniformReplayBuffer(
        data_spec=tensor_spec.to_nest_array_spec(context.agent.collect_data_spec),
        capacity=cfg.max_length,
    )
    return attach(buffer, PyUniformIO())
