"""Does DQN solve the native batched TF CartPole (env=cartpole_tf)?

Trains `experiment=cartpole_tf_dqn` (100000 env steps, collection inside one compiled graph
over 8 carts) for each seed, one run at a time, and reports the greedy evaluations (10
episodes each), the first env step at which the average return reached 475 (CartPole-v1's
solved criterion), and the wall time. The exported final policy is also played on 20
fresh carts, one whole episode each, as an independent check of the trainer's evaluation.
Not part of the test suite. Extra arguments are overrides, e.g. `driver=fused`.

    .venv/bin/python benchmarks/cartpole_tf_solved.py --seeds 0,1,2,3,4
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rlexp.composition import compose_config
from rlexp.training.trainer import train


def final_policy_returns(policy_dir: Path, episodes: int, seed: int) -> list[float]:
    """One whole episode per cart of a fresh batch: no bias towards short episodes."""
    import numpy as np
    import tensorflow as tf
    import tensorflow_probability  # noqa: F401  (the policy's distribution TypeSpecs)

    from rlexp.envs.cartpole_tf_env import CartPoleTFEnvironment

    policy = tf.saved_model.load(str(policy_dir))
    env = CartPoleTFEnvironment(batch_size=episodes, seed=seed)
    act = tf.function(lambda time_step: policy.action(time_step, ()).action)
    step = tf.function(env.step)
    time_step, done, returns = env.reset(), np.zeros(episodes, bool), np.zeros(episodes)
    while not done.all():
        time_step = step(act(time_step))
        returns += np.where(done, 0.0, time_step.reward.numpy())
        done |= time_step.step_type.numpy() == 2
    return returns.tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=lambda text: [int(x) for x in text.split(",")], default=[0])
    parser.add_argument("overrides", nargs="*", help="extra config overrides")
    args = parser.parse_args()
    results = []
    for seed in args.seeds:
        cfg = compose_config(
            ["experiment=cartpole_tf_dqn", f"seed={seed}", "train.progress=false", *args.overrides]
        )
        run_dir = Path(tempfile.mkdtemp(prefix=f"cartpole_tf_seed{seed}_"))
        began = time.perf_counter()
        metrics = train(cfg, run_dir)
        wall = time.perf_counter() - began
        evals = [round(e["average_return"], 1) for e in metrics["evaluations"]]
        check = final_policy_returns(run_dir / "policy", episodes=20, seed=10_000 + seed)
        results.append(
            {
                "seed": seed,
                "evaluations": evals,
                "final_eval_return": metrics["final_eval_return"],
                "best_eval_return": metrics["best_eval_return"],
                "final_policy_mean_return_20_carts": sum(check) / len(check),
                "solved_at_env_steps": metrics["solved_at_env_steps"],
                "train_wall_time_s": metrics["train_wall_time_s"],
                "wall_time_s": round(wall, 1),
                "run_dir": str(run_dir),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    solved = [r for r in results if r["solved_at_env_steps"] is not None]
    print(
        f"cartpole_tf + DQN: solved (greedy eval >= 475 over 10 episodes) in "
        f"{len(solved)}/{len(results)} seeds; first solved at env steps "
        f"{[r['solved_at_env_steps'] for r in results]}; final eval returns "
        f"{[r['final_eval_return'] for r in results]}; final policy on 20 fresh carts "
        f"{[r['final_policy_mean_return_20_carts'] for r in results]}"
    )


if __name__ == "__main__":
    main()
