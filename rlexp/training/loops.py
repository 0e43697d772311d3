"""The collect/train loop of a run: one of three strategies, chosen once from declared facts.

- `StepLoop`: the driver collects (compiled, or in Python for a py driver), then
  `train_steps_per_iteration` train steps on batches from the buffer's dataset.
- `FusedLoop`: collection and training in one compiled graph that runs iterations until
  the next trigger point (`rlexp.training.fused`).
- `OnPolicyLoop`: collect whole episodes, train once on everything collected, empty the
  buffer (REINFORCE, PPO).

Each offers `begin_segment(step)` and `run_until(stop_at) -> loss`. A *segment* starts at
step 0 and at every checkpoint, in the uninterrupted run as in a resumed one: RNGs are
re-seeded from (seed, env step), the collect env is reset, and the collect function and
the dataset iterator are rebuilt. TF-Agents keeps random-op state inside compiled kernels
where no checkpoint reaches it; restarting them at the same points is what makes resume
exact. A train step is traced again only when its graph holds such ops (SAC's action
samples; DQN's and PPO's have none): tracing costs seconds and its graphs stay in memory.
(The XLA-compiled fused loop draws only from generators: it resets them and is reused.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rlexp import buffers, drivers
from rlexp.tracking.seeding import derive_seed, reseed_env, seed_everything
from rlexp.training import fused


@dataclass
class LoopParts:
    """What a loop drives: the built components and the settings it needs."""

    env: Any
    agent: Any
    buffer: Any
    buffer_cfg: Any
    driver: Any
    policy: Any  # the collect policy
    env_steps: Any  # the EnvironmentSteps metric the driver feeds
    seed: int
    train_steps_per_iteration: int
    sequence_length: int | None  # replayed sequence length (None: the agent's own)
    jit_compile: bool  # XLA-compile the fused loop (train.jit_compile)
    trigger_interval: int  # env steps between the closest trigger points


def choose_loop(env_cfg: Any, agent_cfg: Any, buffer_cfg: Any, driver_cfg: Any) -> type:
    """The loop strategy for these typed group configs, from their declared facts."""
    if agent_cfg.on_policy:
        return OnPolicyLoop
    if drivers.fused.runs_fused(env_cfg, buffer_cfg, driver_cfg):
        return FusedLoop
    return StepLoop


class _Loop:
    _train: Any = None  # the compiled train function (StepLoop, OnPolicyLoop)
    _train_draws: bool | None = None  # whether it draws from op-seeded random kernels

    def __init__(self, parts: LoopParts, should_stop: Callable[[], bool]):
        self.parts = parts
        self.should_stop = should_stop
        self.time_step = None
        self.policy_state = None
        self.env_seeded = True  # whether the last segment's start could seed the collect env

    def env_steps(self) -> int:
        return int(self.parts.env_steps.environment_steps.value())  # one op, no identity

    def begin_segment(self, step: int) -> None:
        """Collect from RNG states that depend only on (seed, step): see the module doc."""
        p = self.parts
        seed = derive_seed(p.seed, "segment", step)
        seed_everything(seed)
        self.env_seeded = reseed_env(p.env, seed)
        self.time_step = p.env.reset()
        self.policy_state = p.policy.get_initial_state(p.env.batch_size)
        self._compile()

    def _compile(self) -> None:
        raise NotImplementedError

    def _keeps_train(self, *args: Any) -> bool:
        """Whether the compiled train function (traced with `args`) can serve the next
        segment too: it draws nothing from op-seeded random kernels (`draws_random`)."""
        if self._train is None:
            return False
        if self._train_draws is None:  # the same code traces the same ops: asked once
            self._train_draws = draws_random(self._train.get_concrete_function(*args))
        return not self._train_draws

    def trace(self, stop_at: int) -> bool:
        """Trace the compiled function `run_until(stop_at)` calls, ahead of the call, where
        it is one call (False: nothing was traced)."""
        return False

    def compile_ahead(self) -> Callable[[], None] | None:
        """What a background thread can compile beside the loop's first call, or None."""
        return None

    def _iteration(self) -> float:
        raise NotImplementedError

    def run_until(self, stop_at: int) -> float:
        """Iterate until the env-step count reaches `stop_at` (at least once), a stop is
        requested, or the loss is not finite; return the last loss."""
        loss = self._iteration()
        while self.env_steps() < stop_at and math.isfinite(loss) and not self.should_stop():
            loss = self._iteration()
        return loss


class StepLoop(_Loop):
    def _compile(self) -> None:
        import tensorflow as tf
        from tf_agents.utils import common

        p = self.parts
        self._collect = drivers.collect_fn(p.driver)
        self._samples = iter(buffers.dataset(p.buffer, p.buffer_cfg, p.sequence_length))
        if self._keeps_train(self._samples):
            return

        def train_iteration(samples):
            # An explicit while loop, traced without autograph, which would convert the
            # agent's whole train step too (seed_notebook's first call: 8.8 s, not 1.6 s).
            # The iterator is an argument: a new segment's is taken without a new trace.
            return tf.while_loop(
                lambda i, _: i < p.train_steps_per_iteration,
                lambda i, _: (i + 1, buffers.train(p.buffer, p.agent, next(samples)).loss),
                (tf.constant(0), tf.constant(0.0)),
            )[1]

        self._train = common.function(train_iteration, autograph=False)

    def _iteration(self) -> float:
        self.time_step, self.policy_state = self._collect(self.time_step, self.policy_state)
        return float(self._train(self._samples))


class OnPolicyLoop(StepLoop):
    """Trains on the episodes just collected, then empties the buffer; no replay."""

    def _compile(self) -> None:
        from tf_agents.utils import common

        p = self.parts
        self._collect = drivers.collect_fn(p.driver)
        if self._keeps_train():
            return

        def train_iteration():
            loss = p.agent.train(p.buffer.gather_all()).loss
            p.buffer.clear()
            return loss

        # No Python control flow to convert: autograph converting the agents' train (PPO's
        # unrolled epochs) took twice as long to trace.
        self._train = common.function(train_iteration, autograph=False)

    def _iteration(self) -> float:
        self.time_step, self.policy_state = self._collect(self.time_step, self.policy_state)
        return float(self._train())


class FusedLoop(_Loop):
    _reseed = None  # restarts the compiled loop's random draws, where it can

    def _compile(self) -> None:
        p = self.parts
        seed = derive_seed(p.seed, "replay", self.env_steps())
        if self._reseed is not None:
            self._reseed(seed)
            return
        self._run, self._reseed = fused.make_fused_loop(
            p.driver,
            p.buffer,
            p.agent,
            p.env_steps,
            p.buffer_cfg.sample_batch_size,
            p.sequence_length,
            p.train_steps_per_iteration,
            jit_compile=p.jit_compile,
            seed=seed,
            trigger_interval=p.trigger_interval,
        )

    def trace(self, stop_at: int) -> bool:
        import tensorflow as tf

        stop = tf.constant(stop_at, tf.int64)
        self._run.get_concrete_function(self.time_step, self.policy_state, stop)
        return True

    def compile_ahead(self) -> Callable[[], None] | None:
        return self._run.compile_train if isinstance(self._run, fused.XlaLoop) else None

    def run_until(self, stop_at: int) -> float:
        """One compiled call runs every iteration up to `stop_at` (at least one)."""
        import tensorflow as tf

        self.time_step, self.policy_state, loss = self._run(
            self.time_step, self.policy_state, tf.constant(stop_at, tf.int64)
        )
        return float(loss)


def draws_random(function: Any) -> bool:
    """Whether a traced function's graph, or a function it calls (a while loop's body),
    holds an op-seeded random op (`seed`/`seed2` attributes: its draws are kernel state
    that only a new trace restarts). Stateless ops and generators take seeds as inputs."""
    graph = function.graph.as_graph_def()
    nodes = [*graph.node, *(n for f in graph.library.function for n in f.node_def)]
    return any("seed2" in node.attr for node in nodes)
