"""Reverb replay: `reverb_uniform` and `reverb_prioritized` (optional `reverb` extra).

The buffer is TF-Agents' `ReverbReplayBuffer` over one Reverb table of `sequence_length`-step
items (the agent's `train_sequence_length`). By default the builder starts an in-process
Reverb server on a free localhost port (`buffer.port` picks one); with
`buffer.server_address` it connects to a running server that holds `buffer.table_name`.

Writes go through one `StepWindows` writer per env copy (unbatched steps), called from the
collect graph through `tf.numpy_function`: like `TFUniformReplayBuffer`'s rows, an item
starts at every step and may run into the next episode (the agent masks what follows an
episode's end). TF-Agents' `ReverbAddTrajectoryObserver` drops its window at each episode
end, so an episode's last `sequence_length - 1` steps, the terminal transition among them,
never start an item: n-step DQN (4-step items) would bootstrap from the states before a
failure without ever training them, and diverges.

The prioritized variant samples in proportion to priority**priority_exponent, weights each
sample's loss by (1 / probability)**importance_sampling_exponent (normalized by the batch
maximum) and sets the sampled items' priorities to |TD error| + priority_epsilon after each
train step, through its own `reverb.TFClient`: `ReverbReplayBuffer.update_priorities` uses a
TF client shared process-wide under one name, which talks to the first server the process
connected to (with two buffers in a process, a second run's updates went to the first's
server, or blocked once it was gone). The table's contents are not part of rlexp's
checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rlexp.buffers.replay_io import ReplayIO, attach, numpy_observer
from rlexp.buffers.tf_uniform import ReplayConfig
from rlexp.context import BuildContext, BuildError
from rlexp.registry import register
from rlexp.schemas import bounded, documented

CONNECT_TIMEOUT_S = 10


@dataclass
class ReverbConfig(ReplayConfig):
    max_length: int = bounded(100_000, gt=0, doc="table capacity in items (FIFO removal)")
    table_name: str = documented("experience", "Reverb table to write and sample")
    server_address: str | None = documented(
        None, "host:port of a running Reverb server; null = start one in this process"
    )
    port: int | None = bounded(
        None, gt=0, lt=65536, doc="port of the in-process server; null = a free one"
    )
    rate_limiter_timeout_ms: int = bounded(
        60_000, ge=-1, doc="how long sampling waits for data; -1 = forever"
    )

    requires_extra: ClassVar[str | None] = "reverb"
    checkpointed: ClassVar[bool] = False  # the table lives in the Reverb server


@dataclass
class ReverbPrioritizedConfig(ReverbConfig):
    priority_exponent: float = bounded(0.6, ge=0.0, doc="alpha: sample ~ priority**alpha")
    importance_sampling_exponent: float = bounded(
        0.4, ge=0.0, le=1.0, doc="beta: loss weight (1/probability)**beta, max-normalized"
    )
    initial_priority: float = bounded(1.0, gt=0.0, doc="priority of newly written items")
    priority_epsilon: float = bounded(1e-6, ge=0.0, doc="added to |TD error| for priorities")

    needs_td_errors: ClassVar[bool] = True


class StepWindows:
    """Writes one env copy's steps: an item of the last `length` steps at every step, once
    `length` steps are in, whether or not an episode ended within them (see the module doc)."""

    def __init__(self, client: Any, table: str, length: int, priority: float) -> None:
        self._writer = client.trajectory_writer(num_keep_alive_refs=length, validate_items=False)
        self._table = table
        self._length = length
        self._priority = priority
        self._steps = 0  # appended so far, counted up to `length`

    def __call__(self, step: Any) -> None:
        """Append one unbatched trajectory step of NumPy arrays."""
        import tensorflow as tf

        self._writer.append(step)
        self._steps = min(self._steps + 1, self._length)
        if self._steps == self._length:
            window = tf.nest.map_structure(lambda c: c[-self._length :], self._writer.history)
            self._writer.create_item(self._table, self._priority, window)
        if step.is_boundary():
            # Sends the episode's items now; the history stays for the windows that follow.
            self._writer.end_episode(clear_buffers=False)

    def flush(self) -> None:
        self._writer.flush()


class ReverbIO(ReplayIO):
    """One `StepWindows` writer per env copy; (experience, SampleInfo) samples."""

    def __init__(self, buffer: Any, copies: int, priority: float = 1.0) -> None:
        super().__init__()
        self._writers = [
            StepWindows(buffer.py_client, buffer._table_name, buffer._sequence_length, priority)
            for _ in range(copies)
        ]

    def write(self, trajectory: Any) -> None:
        """Add a batched trajectory of NumPy arrays: row i goes to env copy i's writer."""
        import tensorflow as tf

        for index, writer in enumerate(self._writers):
            writer(tf.nest.map_structure(lambda array, i=index: array[i], trajectory))

    def flush(self) -> None:
        """Block until the server has confirmed every item written so far."""
        for writer in self._writers:
            writer.flush()

    def observer(self, buffer: Any):
        if self._observer is None:
            self._observer = numpy_observer(self.write)
        return self._observer

    def dataset(self, buffer: Any, cfg: Any, num_steps: int):
        return buffer.as_dataset(
            sample_batch_size=cfg.sample_batch_size,
            num_steps=num_steps,
            num_parallel_calls=min(cfg.num_parallel_calls, cfg.sample_batch_size),
        ).prefetch(cfg.prefetch)


class PrioritizedReverbIO(ReverbIO):
    def __init__(
        self, buffer: Any, copies: int, cfg: ReverbPrioritizedConfig, address: str
    ) -> None:
        super().__init__(buffer, copies, priority=cfg.initial_priority)
        import uuid

        import reverb

        self._beta = cfg.importance_sampling_exponent
        self._epsilon = cfg.priority_epsilon
        self._table = cfg.table_name
        self._tf_client = reverb.TFClient(address, shared_name=f"rlexp_{uuid.uuid4().hex}")

    def train(self, buffer: Any, agent: Any, sample: Any):
        import tensorflow as tf

        experience, info = sample
        probability = tf.cast(info.probability[:, 0], tf.float32)  # same for every step
        weights = tf.pow(1.0 / probability, self._beta)
        loss_info = agent.train(experience, weights=weights / tf.reduce_max(weights))
        td_error = getattr(loss_info.extra, "td_error", None)
        if td_error is None or not tf.nest.flatten(td_error):  # C51's is ()
            raise BuildError(
                f"buffer=reverb_prioritized needs an agent that reports TD errors "
                f"(LossInfo.extra.td_error, as DQN does); {type(agent).__name__} does not; "
                f"use buffer=reverb_uniform or buffer=tf_uniform with it"
            )
        priorities = tf.cast(tf.abs(td_error), tf.float64) + self._epsilon
        self._tf_client.update_priorities(self._table, info.key[:, 0], priorities)
        return loss_info


def _build(cfg: ReverbConfig, context: BuildContext, prioritized: bool):
    from rlexp.extras import require

    require("reverb")
    import reverb
    from tf_agents.replay_buffers import reverb_replay_buffer
    from tf_agents.specs import tensor_spec

    data_spec = context.agent.collect_data_spec
    sequence_length = context.agent.train_sequence_length
    args = dict(
        data_spec=data_spec,
        table_name=cfg.table_name,
        sequence_length=sequence_length,
        rate_limiter_timeout_ms=cfg.rate_limiter_timeout_ms,
    )
    if cfg.server_address:
        _check_server(cfg)
        address = cfg.server_address
        buffer = reverb_replay_buffer.ReverbReplayBuffer(server_address=cfg.server_address, **args)
    else:
        sampler = (
            reverb.selectors.Prioritized(cfg.priority_exponent)
            if prioritized
            else reverb.selectors.Uniform()
        )
        table = reverb.Table(
            cfg.table_name,
            max_size=cfg.max_length,
            sampler=sampler,
            remover=reverb.selectors.Fifo(),
            rate_limiter=reverb.rate_limiters.MinSize(1),
            signature=tensor_spec.add_outer_dim(tensor_spec.from_spec(data_spec)),
        )
        server = reverb.Server([table], port=cfg.port)
        buffer = reverb_replay_buffer.ReverbReplayBuffer(local_server=server, **args)
        address = f"localhost:{server.port}"
    copies = context.env.batch_size or 1
    io = (
        PrioritizedReverbIO(buffer, copies, cfg, address)
        if prioritized
        else ReverbIO(buffer, copies)
    )
    return attach(buffer, io)


def _check_server(cfg: ReverbConfig) -> None:
    """A clear error for an unreachable server or a missing table (TF-Agents would hang)."""
    import reverb

    try:
        tables = reverb.Client(cfg.server_address).server_info(timeout=CONNECT_TIMEOUT_S)
    except Exception as exc:
        raise BuildError(
            f"buffer.server_address={cfg.server_address}: no Reverb server answers there "
            f"({type(exc).__name__}: {exc}); start one, or set buffer.server_address=null to "
            f"start one in this process"
        ) from exc
    if cfg.table_name not in tables:
        raise BuildError(
            f"buffer.table_name={cfg.table_name}: the Reverb server at {cfg.server_address} "
            f"has no such table; its tables: {', '.join(sorted(tables)) or '(none)'}"
        )


@register(
    "buffer",
    "reverb_uniform",
    schema=ReverbConfig,
    doc="Uniform replay in a Reverb table (ReverbReplayBuffer) [extra: reverb].",
)
def build_reverb_uniform(cfg: ReverbConfig, context: BuildContext):
    return _build(cfg, context, prioritized=False)


@register(
    "buffer",
    "reverb_prioritized",
    schema=ReverbPrioritizedConfig,
    doc="Prioritized replay in Reverb, priorities from the agent's TD errors [extra: reverb].",
)
def build_reverb_prioritized(cfg: ReverbPrioritizedConfig, context: BuildContext):
    return _build(cfg, context, prioritized=True)
