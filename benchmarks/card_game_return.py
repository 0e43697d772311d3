"""What mean return does DQN reach on the tutorial's card game (`experiment=card_game_dqn`)?

Trains the preset once per seed (one run at a time). The greedy policy of a run is a
function of the observation alone (the sum of the cards), so the script reads its action
for every sum 0..20 and reports (a) the exact expected return of that policy (dynamic
programming over the card draws) and (b) the mean return over --episodes fresh episodes.
For scale: the optimal policy (take below 14) expects -5.14, the tutorial's fixed policy
(three cards, then stop) -8.46, a uniformly random policy -17.03 (all exact).

    .venv/bin/python benchmarks/card_game_return.py --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from rlexp.composition import compose_config
from rlexp.training.trainer import train

TAKE, STOP = 0, 1


def expected_return(actions: dict[int, int]) -> float:
    """Exact expected return from sum 0 of the policy `actions[sum]` (sums 0..20)."""

    @lru_cache(None)
    def value(total: int) -> float:
        if total > 21:
            return -21.0
        if total == 21:
            return 0.0
        if actions[total] == STOP:
            return float(total - 21)
        return sum(value(total + card) for card in range(1, 11)) / 10

    return value(0)


def episodes_return(actions: dict[int, int], episodes: int, seed: int) -> list[float]:
    """Returns of `episodes` rounds played with the real env and the policy's table."""
    from rlexp.envs.card_game_env import CardGameEnv

    env, returns = CardGameEnv(seed=seed), []
    for _ in range(episodes):
        time_step, total = env.reset(), 0.0
        while not time_step.is_last():
            time_step = env.step(np.array(actions[int(time_step.observation[0])], np.int32))
            total += float(time_step.reward)
        returns.append(total)
    return returns


def greedy_actions(policy_dir: Path) -> dict[int, int]:
    """The exported greedy policy's action for each sum 0..20."""
    import tensorflow as tf
    import tensorflow_probability  # noqa: F401  (the policy's distribution TypeSpecs)
    from tf_agents.trajectories import time_step as ts

    policy = tf.saved_model.load(str(policy_dir))
    sums = tf.constant([[s] for s in range(21)], tf.int32)
    step = ts.transition(sums, reward=tf.zeros(21), discount=tf.ones(21))
    actions = policy.action(step, ()).action.numpy()
    return {s: int(a) for s, a in enumerate(actions)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds", type=lambda text: [int(x) for x in text.split(",")], default=[0, 1, 2]
    )
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("overrides", nargs="*", help="extra config overrides")
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        cfg = compose_config(
            ["experiment=card_game_dqn", f"seed={seed}", "train.progress=false", *args.overrides]
        )
        run_dir = Path(tempfile.mkdtemp(prefix=f"card_game_seed{seed}_"))
        began = time.perf_counter()
        metrics = train(cfg, run_dir)
        actions = greedy_actions(run_dir / "policy")
        returns = episodes_return(actions, args.episodes, seed=10_000 + seed)
        stops = [s for s in range(21) if actions[s] == STOP]
        rows.append(
            {
                "seed": seed,
                "expected_return": round(expected_return(actions), 3),
                "mean_return": round(statistics.fmean(returns), 3),
                "stops_at_sums": stops,
                "trainer_final_eval_return": round(metrics["final_eval_return"], 3),
                "wall_time_s": round(time.perf_counter() - began, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    expected = [r["expected_return"] for r in rows]
    sampled = [r["mean_return"] for r in rows]
    print(
        f"card_game + DQN over {len(rows)} seeds: exact expected greedy return "
        f"{statistics.fmean(expected):.2f} (per seed {expected}); mean over {args.episodes} "
        f"episodes {statistics.fmean(sampled):.2f} (per seed {sampled}); optimal -5.14"
    )


if __name__ == "__main__":
    main()
