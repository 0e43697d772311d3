"""The floor under the default experiment's training loop: its steady loop against the same
number of DQN train steps written by hand, with nothing else around them.

Alternates, each in a fresh process, `run_breakdown.py` (the default experiment) and a
minimal XLA-compiled DQN train step on the default's shapes: an MLP 4-64-64-2 on batches of
128 sampled 4-step sequences, a 3-step TD target from a target network, Huber loss, Adam and
gradient clipping; no TF-Agents, no collection, no replay writes. The hand-written loop
makes as many calls of 256 train steps as the run's steady loop made, and its first call
(with its trace and compile) stands beside the run's. The steady loop also collects 1024 env
steps and writes them to the replay buffer in each call; the floor does neither, so the
ratio bounds what the train steps could still gain.

    .venv/bin/python benchmarks/train_step_floor.py [--pairs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from performance import breakdown  # this folder's harness

TRAIN_STEPS_PER_CALL = 256  # train.train_steps_per_iteration of the default experiment


def floor(calls: int) -> dict:
    """The hand-written loop's first call and `calls` steady calls, in seconds."""
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()  # as rlexp's runs (`deterministic`)
    tf.random.set_seed(0)

    def mlp() -> list:
        shapes = [(4, 64), (64,), (64, 64), (64,), (64, 2), (2,)]
        return [tf.Variable(tf.random.normal(s, stddev=0.1)) for s in shapes]

    online, target = mlp(), mlp()
    optimizer = tf.keras.optimizers.Adam(3e-3)
    optimizer.build(online)
    rows = 3125 * 32
    observations = tf.Variable(tf.random.normal([rows, 4]))
    actions = tf.Variable(tf.random.uniform([rows], 0, 2, tf.int32))
    rewards = tf.Variable(tf.ones([rows]))
    generator = tf.random.Generator.from_seed(1)

    def q(weights: list, x):
        x = tf.nn.relu(x @ weights[0] + weights[1])
        x = tf.nn.relu(x @ weights[2] + weights[3])
        return x @ weights[4] + weights[5]

    def train_step():
        ids = generator.uniform([128], 0, rows - 4, tf.int64)[:, None] + tf.range(4, dtype=tf.int64)
        obs, act, rew = (tf.gather(t, ids) for t in (observations, actions, rewards))
        returns = rew[:, 0] + 0.99 * rew[:, 1] + 0.99**2 * rew[:, 2]
        bootstrap = tf.reduce_max(q(target, obs[:, 3]), axis=-1)
        td_target = tf.stop_gradient(returns + 0.99**3 * bootstrap)
        with tf.GradientTape() as tape:
            chosen = tf.gather(q(online, obs[:, 0]), act[:, 0], batch_dims=1)
            loss = tf.reduce_mean(tf.keras.losses.huber(td_target[:, None], chosen[:, None]))
        gradients, _ = tf.clip_by_global_norm(tape.gradient(loss, online), 10.0)
        optimizer.apply_gradients(zip(gradients, online, strict=True))
        return loss

    @tf.function(jit_compile=True, autograph=False)
    def loop(count):
        body = lambda i, _: (i + 1, train_step())  # noqa: E731
        return tf.while_loop(lambda i, _: i < count, body, (0, 0.0))[1]

    steps = tf.constant(TRAIN_STEPS_PER_CALL)
    start = time.perf_counter()
    loop(steps).numpy()
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(calls):
        loop(steps).numpy()
    return {"first_call_s": first, "steady_s": time.perf_counter() - start}


def floor_in_process(calls: int) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, __file__, "--floor-calls", str(calls)]
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--floor-calls", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_calls is not None:
        print(json.dumps(floor(args.floor_calls)))
        return
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    sides: dict[str, list[dict]] = {"rlexp": [], "floor": []}
    for _ in range(args.pairs):
        run = breakdown()
        calls = run["calls"]["training loop (steady)"]
        first = run["phases_s"]["training loop: 1st call"]
        first += run["phases_s"].get("training loop: trace ahead", 0.0)
        steady = run["phases_s"]["training loop (steady)"]
        sides["rlexp"].append({"first_call_s": first, "steady_s": steady, "calls": calls})
        sides["floor"].append({**floor_in_process(calls), "calls": calls})
        print(f"  rlexp: {sides['rlexp'][-1]}\n  floor: {sides['floor'][-1]}", flush=True)
    print(f"| measure (median of {args.pairs}) | rlexp | hand-written | ratio |")
    print("|---|---|---|---|")
    for key, label in (
        ("first_call_s", "first call (trace, compile, one iteration), s"),
        ("steady_s", f"steady calls of {TRAIN_STEPS_PER_CALL} train steps, s"),
    ):
        ours, theirs = (statistics.median(r[key] for r in sides[s]) for s in sides)
        print(f"| {label} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f} |")
    calls = statistics.median(r["calls"] for r in sides["rlexp"])
    print(f"steady calls per run: {calls:.0f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
