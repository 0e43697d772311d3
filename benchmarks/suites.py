"""The standard suites' reference experiments: learning figures and Atari throughput.

`learn`: trains the MinAtar and DMC presets (one subprocess per preset and seed, one at a
time, through benchmarks/reference_experiments.py's runner) and writes its Markdown table.

`atari`: a short in-process run of `experiment=dqn_atari` (Nature DQN on ALE/Pong-v5) with
a small replay buffer; reports env steps/s (random-policy prefill, then collect+train),
train steps/s, and the bytes one transition takes in the agent's replay spec (uint8
frames), times 1M for the preset's 1M-transition buffer. Not part of the test suite.

    nice -n 5 .venv/bin/python benchmarks/suites.py learn --seeds 0
    nice -n 5 .venv/bin/python benchmarks/suites.py atari --env-steps 3000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_experiments import ROOT, markdown, train  # noqa: E402

LEARN_EXPERIMENTS = (
    "dqn_minatar_breakout",
    "dqn_minatar_space_invaders",
    "sac_dmc_cartpole_balance",
)


def learn(args: argparse.Namespace, overrides: list[str]) -> int:
    out = args.out if args.out.is_absolute() else ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    results_file = out / "results.json"
    rows = json.loads(results_file.read_text()) if results_file.exists() else []
    for experiment in args.experiments.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            row = train(experiment, seed, out, overrides)
            row["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            rows = [r for r in rows if (r["experiment"], r["seed"]) != (experiment, seed)]
            rows.append(row)
            results_file.write_text(json.dumps(rows, indent=2) + "\n")
            (out / "results.md").write_text(markdown(rows))
    print(markdown(rows))
    return 1 if any("error" in r for r in rows) else 0


def transition_bytes(spec) -> int:
    """Bytes of one element of a (nested) TensorSpec: what one transition stores."""
    import numpy as np
    import tensorflow as tf

    return sum(int(np.prod(s.shape)) * s.dtype.size for s in tf.nest.flatten(spec))


def random_steps_per_s(env, steps: int) -> float:
    """Env steps/s of a random policy on `env` (what the prefill runs at)."""
    from tf_agents.drivers import dynamic_step_driver
    from tf_agents.policies import random_tf_policy
    from tf_agents.utils import common

    policy = random_tf_policy.RandomTFPolicy(env.time_step_spec(), env.action_spec())
    run = common.function(dynamic_step_driver.DynamicStepDriver(env, policy, num_steps=steps).run)
    run()  # trace
    began = time.perf_counter()
    run()
    return steps / (time.perf_counter() - began)


def atari(args: argparse.Namespace) -> int:
    """dqn_atari's random env steps/s, collect+train env steps/s, train steps/s, memory."""
    from rlexp.composition import compose_config
    from rlexp.training.trainer import build_components, train

    steps, prefill = args.env_steps, args.env_steps // 4
    cfg = compose_config(
        [
            "experiment=dqn_atari",
            f"train.env_steps={steps}",
            f"train.prefill_steps={prefill}",
            f"train.eval_interval={steps}",
            "train.eval_episodes=1",
            f"train.summary_interval={steps}",
            f"train.checkpoint_interval={steps}",
            "train.progress=false",
            f"buffer.max_length={steps}",  # the preset's 1M is computed, not allocated
            "env.max_episode_frames=4000",  # a short final greedy episode
        ]
    )
    load = [os.getloadavg()[0]]
    ctx, _ = build_components(cfg)
    per_transition = transition_bytes(ctx.agent.collect_data_spec)
    random_rate = random_steps_per_s(ctx.env, prefill)
    with tempfile.TemporaryDirectory() as tmp:
        metrics = train(cfg, Path(tmp) / "run")
    load.append(os.getloadavg()[0])
    # The run's train wall time holds its prefill; take that out at the measured rate.
    learning_time = metrics["train_wall_time_s"] - prefill / random_rate
    observation = ctx.env.observation_spec()
    result = {
        "command": " ".join(sys.argv),
        "observation_spec": f"{observation.shape.as_list()} {observation.dtype.name}",
        "bytes_per_transition": per_transition,
        "buffer_1m_transitions_gb": round(per_transition * 1_000_000 / 1e9, 2),
        "random_env_steps_per_s": round(random_rate, 1),
        "env_steps": metrics["env_steps"],
        "train_steps": metrics["train_steps"],
        "train_wall_time_s": metrics["train_wall_time_s"],
        "collect_train_env_steps_per_s": round((steps - prefill) / learning_time, 1),
        "train_steps_per_s": round(metrics["train_steps"] / learning_time, 1),
        "load_average": [round(x, 2) for x in load],
    }
    out = args.out if args.out.is_absolute() else ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "atari.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["learn", "atari"])
    parser.add_argument("--experiments", default=",".join(LEARN_EXPERIMENTS))
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--env-steps", type=int, default=4000, help="atari: run length")
    parser.add_argument("--out", type=Path, default=Path("outputs/benchmarks/suites"))
    args, overrides = parser.parse_known_args()
    return learn(args, overrides) if args.mode == "learn" else atari(args)


if __name__ == "__main__":
    sys.exit(main())
