"""Does the default experiment learn as well from each replay buffer?

Trains the default experiment (DQN, env=cartpole_tf, 32 carts) once per seed and buffer
setting, one run at a time, at the same env-step budget, and reports per setting the
greedy evaluations' best, final and late mean (the mean of the last quarter of them),
each as the median over the seeds. A buffer that hands the agent other transitions than
`tf_uniform` shows here: Reverb's items once left out each episode's last steps and the
run diverged (best early, final ~10). Each SETTING is one quoted string of overrides; the
default compares tf_uniform (with the step driver, as any other buffer runs) and
reverb_uniform, at its own batch size and at tf_uniform's. Not part of the test suite.

    .venv/bin/python benchmarks/replay_learning.py --seeds 0,1,2 [--env-steps 12000] [SETTING ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from rlexp.composition import compose_config
from rlexp.training.trainer import train

SETTINGS = [
    "buffer=tf_uniform driver=step",
    "buffer=reverb_uniform",
    "buffer=reverb_uniform buffer.sample_batch_size=128",
]


def run(setting: str, seed: int, env_steps: int) -> dict:
    """One training run; its evaluations and their summary."""
    overrides = [*setting.split(), f"seed={seed}", f"train.env_steps={env_steps}"]
    cfg = compose_config([*overrides, "train.progress=false"])
    run_dir = Path(tempfile.mkdtemp(prefix=f"replay_learning_seed{seed}_"))
    metrics = train(cfg, run_dir)
    evals = [round(e["average_return"], 1) for e in metrics["evaluations"]]
    late = evals[-max(1, len(evals) // 4) :]
    return {
        "setting": setting,
        "seed": seed,
        "best": metrics["best_eval_return"],
        "final": metrics["final_eval_return"],
        "late_mean": round(statistics.mean(late), 1),
        "evaluations": evals,
        "train_wall_time_s": metrics["train_wall_time_s"],
    }


def summary(results: list[dict]) -> None:
    """Print a table of the medians over seeds, one row per setting."""
    print("| setting | seeds | best | final | late mean | finals |")
    print("|---|---|---|---|---|---|")
    for setting in dict.fromkeys(r["setting"] for r in results):
        rows = [r for r in results if r["setting"] == setting]
        medians = [statistics.median(r[k] for r in rows) for k in ("best", "final", "late_mean")]
        finals = [round(r["final"], 1) for r in rows]
        cells = " | ".join(f"{m:.1f}" for m in medians)
        print(f"| {setting} | {len(rows)} | {cells} | {finals} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=lambda text: [int(x) for x in text.split(",")], default=[0])
    parser.add_argument("--env-steps", type=int, default=12_000)
    parser.add_argument("settings", nargs="*", default=SETTINGS, help="quoted overrides each")
    args = parser.parse_args()
    results = []
    for setting in args.settings:
        for seed in args.seeds:
            results.append(run(setting, seed, args.env_steps))
            print(json.dumps(results[-1]), flush=True)
    summary(results)


if __name__ == "__main__":
    main()
