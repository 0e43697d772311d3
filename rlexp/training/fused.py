"""The fused training loop of `driver=fused`: collection and training, both in-graph.

`make_fused_loop(...)` returns `run(time_step, policy_state, stop_at)` (with its `reseed`),
which runs iterations until the env-step count reaches `stop_at`; an iteration is the
driver's `num_steps` env steps (policy, env, buffer write and metrics, all in-graph) then
`train_steps` train steps on batches sampled from the TF replay buffer in-graph
(`buffer.get_next`: no dataset iterator or prefetch thread, so what is sampled never
depends on timing). The trainer calls it once per stretch between trigger points (eval,
summaries, checkpoints), so Python runs only where the triggers need it, and they fire at
the same env steps as with `driver=step`.

With `jit_compile=True` (`train.jit_compile`, the default) XLA compiles the collection,
replay writes and sampling, and training, so an iteration no longer pays TF's per-op
dispatch. Where a stretch holds several iterations, the whole loop is one XLA cluster, one
call per stretch. Where every stretch is one iteration (the default experiment evaluates
after each), the collection and the train steps are two clusters (`XlaLoop`), which XLA
compiles side by side on two cores, sooner than the one cluster; both forms give the same
results. What XLA cannot compile is replaced by the same computation in a form it can: the
replay buffer is written (`buffers.observer`) and sampled (`sample_uniform`) without
TF-Agents' `CriticalSection`, and the epsilon-greedy exploration draws from a seeded
generator (`policies.seeded_exploration`) instead of stateful random ops, whose seeds XLA
picks at random per process. Replay sampling and exploration restart from `seed` at every
segment start, by resetting their generators: the compiled loop is reused. A collect policy
that cannot be replaced so (one that is not plain epsilon-greedy) keeps its collect step
outside XLA, and only the train steps of each iteration are compiled."""

from __future__ import annotations

import functools
from typing import Any

from rlexp.policies import seeded_exploration


def make_fused_loop(
    driver: Any,
    buffer: Any,
    agent: Any,
    env_steps: Any,
    sample_batch_size: int,
    sequence_length: int | None,
    train_steps: int,
    jit_compile: bool,
    seed: int,
    trigger_interval: int,
):
    """`(run, reseed)`: `run(time_step, policy_state, stop_at) -> (time_step, policy_state,
    last loss)` runs iterations until the `env_steps` metric (fed by the driver's
    observers) is at least `stop_at`, and always at least one: the iteration that crosses a
    trigger point is the last, as when the trainer checks its triggers after every
    iteration. `run.get_concrete_function(...)` traces it ahead of its first call.
    `reseed(seed)` restarts its random draws for a new segment without tracing it again; it
    is None where random ops keep their state in compiled kernels (TF's graph mode, and a
    collect policy XLA cannot seed), and a new segment builds a new loop.
    """
    import tensorflow as tf
    from tf_agents.utils import common

    whole = jit_compile and seeded_exploration.supports(driver.policy)
    driver, sample, generators = _driver_and_sampler(
        driver, buffer, sample_batch_size, sequence_length, jit_compile, whole, seed
    )

    def train_loop(count):
        # Explicit while loops, compiled without autograph: autograph would convert every
        # TF-Agents function called inside (the driver, the agent's train), which made
        # tracing take ~10 s on this stack.
        return tf.while_loop(
            lambda i, _: i < count,
            lambda i, _: (i + 1, agent.train(sample()).loss),
            (tf.constant(0), tf.constant(0.0)),
        )[1]

    reseed = functools.partial(_reseed, generators) if whole else None
    if whole and trigger_interval <= driver._num_steps:  # one iteration per stretch
        compiled = functools.partial(common.function, autograph=False, jit_compile=True)
        run = XlaLoop(compiled(driver.run), compiled(train_loop), train_steps, env_steps)
        return run, reseed
    if jit_compile and not whole:
        train_loop = tf.function(train_loop, jit_compile=True, autograph=False)
    run = _iterations(driver, functools.partial(train_loop, train_steps), env_steps)
    return common.function(run, autograph=False, jit_compile=whole or None), reseed


def _iterations(driver: Any, train: Any, env_steps: Any):
    """`run(time_step, policy_state, stop_at)` as one graph: a while loop of iterations."""
    import tensorflow as tf

    def run(time_step, policy_state, stop_at):
        def body(i, time_step, policy_state, loss):
            time_step, policy_state = driver.run(time_step, policy_state)
            with tf.control_dependencies(tf.nest.flatten(time_step)):
                loss = train()
            return i + 1, time_step, policy_state, loss

        _, time_step, policy_state, loss = tf.while_loop(
            lambda i, *_: tf.logical_or(i == 0, env_steps.result() < stop_at),
            body,
            (tf.constant(0), time_step, policy_state, tf.constant(0.0)),
        )
        return time_step, policy_state, loss

    return run


class XlaLoop:
    """The XLA mode's loop where a stretch is one iteration: two XLA-compiled calls, the
    collection and the train steps, so that XLA can compile them side by side on two cores
    (`compile_train` in a background thread while the first call compiles the collection).
    One cluster for the whole loop compiles both before its first iteration; the Python
    between the two calls is small beside an iteration (~17 ms in the default experiment),
    and would not be where a stretch holds many short iterations (the one cluster's case)."""

    def __init__(self, collect: Any, train: Any, train_steps: int, env_steps: Any):
        import tensorflow as tf

        self.collect, self.train, self.env_steps = collect, train, env_steps
        self.train_steps = tf.constant(train_steps)

    def __call__(self, time_step: Any, policy_state: Any, stop_at: Any) -> tuple:
        while True:
            time_step, policy_state = self.collect(time_step, policy_state)
            loss = self.train(self.train_steps)
            if int(self.env_steps.result()) >= int(stop_at):
                return time_step, policy_state, loss

    def get_concrete_function(self, time_step: Any, policy_state: Any, stop_at: Any) -> None:
        """Trace both functions ahead of their first calls."""
        self.collect.get_concrete_function(time_step, policy_state)
        self.train.get_concrete_function(self.train_steps)

    def compile_train(self) -> None:
        """XLA-compile the train steps by a call that runs none of them. It may run beside
        the loop's calls: an XLA call holds the locks of the variables it writes from
        reading them to writing them back, so its write-back of unchanged values cannot
        undo another call's."""
        import tensorflow as tf

        self.train(tf.constant(0))


def _driver_and_sampler(
    driver: Any,
    buffer: Any,
    sample_batch_size: int,
    sequence_length: int | None,
    jit_compile: bool,
    whole: bool,
    seed: int,
) -> tuple[Any, Any, list]:
    """The loop's driver, its `sample() -> experience` and its generators. In the XLA mode,
    replay samples (and, when `whole`, the exploration) draw from generators seeded with
    `seed`."""
    if not jit_compile:

        def sample():
            batch, _ = buffer.get_next(
                sample_batch_size=sample_batch_size, num_steps=sequence_length
            )
            return batch

        return driver, sample, []
    replay, exploration = _generators(seed)
    sample = functools.partial(sample_uniform, buffer, replay, sample_batch_size, sequence_length)
    if whole:
        driver = _with_policy(
            driver, seeded_exploration.seeded_epsilon_greedy(driver.policy, exploration)
        )
    return driver, sample, [replay, exploration]


def _generators(seed: int) -> list:
    """The replay sampler's and the exploration's generators for a segment's `seed`."""
    import tensorflow as tf

    return tf.random.Generator.from_seed(seed).split(2)


def _reseed(generators: list, seed: int) -> None:
    """Put `generators` in the states `_generators(seed)` starts from."""
    for generator, fresh in zip(generators, _generators(seed), strict=True):
        generator.reset(fresh.state)


def _with_policy(driver: Any, policy: Any) -> Any:
    """A `DynamicStepDriver` like `driver` that acts with `policy`."""
    from tf_agents.drivers.dynamic_step_driver import DynamicStepDriver

    return DynamicStepDriver(
        driver.env,
        policy,
        observers=driver.observers,
        transition_observers=driver.transition_observers,
        num_steps=driver._num_steps,
    )


def sample_uniform(buffer: Any, generator: Any, sample_batch_size: int, num_steps: int | None):
    """A batch drawn uniformly from a `TFUniformReplayBuffer`, as its `get_next` draws it
    (time-stacked sequences of `num_steps`), without its CriticalSection: XLA compiles it."""
    import tensorflow as tf
    from tf_agents.replay_buffers.tf_uniform_replay_buffer import _valid_range_ids

    max_length = buffer._max_length
    low, high = _valid_range_ids(buffer._last_id.read_value(), max_length, num_steps)
    shape = [sample_batch_size]
    ids = generator.uniform(shape, low, high, dtype=tf.int64)
    carts = generator.uniform(shape, 0, buffer._batch_size, dtype=tf.int64)
    if num_steps is None:
        rows = tf.math.mod(ids, max_length) + carts * max_length
    else:
        steps = tf.range(num_steps, dtype=tf.int64)[None, :]
        rows = tf.math.mod(ids[:, None] + steps, max_length) + carts[:, None] * max_length
    return buffer._data_table.read(rows)
