"""Do the reference experiments reach their thresholds? One preset, one seed at a time.

Trains each `rlexp/conf/experiment/<name>.yaml` preset for each seed (`rlexp train
experiment=<name> seed=<s>`, a subprocess each, one at a time), reads every run's
metrics.json and writes a Markdown table: the threshold (the issue's, which each preset also
sets as `env.reward_threshold`), the env-step budget, the env steps at which each seed's
greedy evaluation first reached the threshold (metrics' `solved_at_env_steps`), the final
evaluation, the training wall time, and how many seeds reached it. Results accumulate in
<out>/results.json, so experiments can be run in several calls. Not part of the test suite.

    nice -n 5 .venv/bin/python benchmarks/reference_experiments.py --experiments a,b --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RLEXP = ROOT / ".venv" / "bin" / "rlexp"
# The thresholds (greedy evaluation average return).
THRESHOLDS = {
    "cartpole_tf_dqn": 475.0,
    "ddqn_cartpole": 475.0,
    "c51_cartpole": 475.0,
    "ppo_cartpole": 475.0,
    "reinforce_cartpole": 400.0,
    "sac_pendulum": -250.0,
    "dqn_acrobot": -100.0,
}


def train(experiment: str, seed: int, out: Path, overrides: list[str]) -> dict[str, Any]:
    run_dir = out / experiment / f"seed_{seed}"
    command = [
        str(RLEXP),
        "train",
        f"experiment={experiment}",
        f"seed={seed}",
        f"hydra.run.dir={run_dir}",
        "train.progress=false",
        *overrides,
    ]
    print(f"[{experiment} seed {seed}] {' '.join(command)}", flush=True)
    load_before = os.getloadavg()[0]
    code = subprocess.run(command, cwd=ROOT).returncode
    metrics_file = run_dir / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
    row = {
        "experiment": experiment,
        "seed": seed,
        "threshold": metrics.get("reward_threshold"),
        "final_eval_return": metrics.get("final_eval_return"),
        "best_eval_return": metrics.get("best_eval_return"),
        "solved_at_env_steps": metrics.get("solved_at_env_steps"),
        "env_steps": metrics.get("env_steps"),
        "train_wall_time_s": metrics.get("train_wall_time_s"),
        "solved_at_wall_time_s": metrics.get("solved_at_wall_time_s"),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "run_dir": str(run_dir),
    }
    if code != 0 or metrics.get("status") != "completed":
        row["error"] = metrics.get("error") or f"exit code {code}"
    expected = THRESHOLDS.get(experiment)
    if expected is not None and row["threshold"] != expected:
        row["error"] = f"preset threshold {row['threshold']} is not the issue's {expected}"
    return row


def fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| experiment | threshold | env steps run (budget) | env steps to reach (per seed) | "
        "final eval (per seed) | train wall time s (per seed) | reached |",
        "| --- | ---: | ---: | --- | --- | --- | ---: |",
    ]
    for experiment in dict.fromkeys(r["experiment"] for r in rows):
        runs = [r for r in rows if r["experiment"] == experiment]
        reached = sum(r["solved_at_env_steps"] is not None for r in runs)
        lines.append(
            f"| {experiment} | {fmt(runs[0]['threshold'])} | {fmt(runs[0]['env_steps'])} | "
            + ", ".join(fmt(r["solved_at_env_steps"]) for r in runs)
            + " | "
            + ", ".join(fmt(r["final_eval_return"], 1) for r in runs)
            + " | "
            + ", ".join(fmt(r["train_wall_time_s"]) for r in runs)
            + f" | {reached}/{len(runs)} |"
            + "".join(f" seed {r['seed']} failed: {r['error'][:60]}" for r in runs if "error" in r)
        )
    loads = [x for r in rows for x in r["load_average"]]
    lines += [
        "",
        "Reached = a greedy evaluation's average return >= threshold at some evaluation "
        "(`solved_at_env_steps`); final eval = the last evaluation, at the budget. "
        f"1-minute load average during the runs: {min(loads):.1f}-{max(loads):.1f} (2 cores).",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", default=",".join(THRESHOLDS))
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--out", type=Path, default=Path("outputs/benchmarks/reference"))
    args, overrides = parser.parse_known_args()
    out = args.out if args.out.is_absolute() else ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    results_file = out / "results.json"
    rows = json.loads(results_file.read_text()) if results_file.exists() else []
    began = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for experiment in args.experiments.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            row = train(experiment, seed, out, overrides)
            row["date"] = began
            rows = [r for r in rows if (r["experiment"], r["seed"]) != (experiment, seed)]
            rows.append(row)
            results_file.write_text(json.dumps(rows, indent=2) + "\n")
            (out / "results.md").write_text(markdown(rows))
    print(markdown(rows))
    print(f"results: {out / 'results.md'}")
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
