"""Time `rlexp report` on a synthetic 12-run sweep (3 learning rates x 4 seeds, 40
evaluations each, the default experiment's full composed config), target < 2 s.

    .venv/bin/python benchmarks/report_time.py            # prints the median of 3 runs

Each timing is the whole `rlexp report` command in a fresh process (interpreter start,
imports, statistics, three PNG figures), as a user waits for it. The machine's 1-minute
load average is printed alongside: other work on the box slows every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RLEXP = Path(sys.executable).parent / "rlexp"
LEARNING_RATES = (1e-4, 3e-4, 1e-3)
SEEDS = 4
EVALUATIONS = 40


def composed_config():
    """The default experiment's config, as Hydra writes it into .hydra/config.yaml."""
    from hydra import compose, initialize_config_dir

    from rlexp import registry
    from rlexp.composition import prepare_registry

    prepare_registry([])
    with initialize_config_dir(config_dir=str(registry.CONF_DIR), version_base="1.3"):
        return compose("config")


def write_sweep(root: Path) -> None:
    import numpy as np
    from omegaconf import OmegaConf

    cfg = composed_config()
    rng = np.random.default_rng(0)
    job = 0
    for lr in LEARNING_RATES:
        for seed in range(SEEDS):
            run = root / f"{job}_agent.learning_rate={lr},seed={seed}"
            (run / ".hydra").mkdir(parents=True)
            cfg.agent.learning_rate, cfg.seed = lr, seed
            OmegaConf.save(cfg, run / ".hydra" / "config.yaml")
            steps = np.arange(1, EVALUATIONS + 1) * 500
            returns = np.clip(np.cumsum(rng.normal(lr * 1e4, 10, EVALUATIONS)), 0, 500)
            evaluations = [
                {
                    "env_steps": int(s),
                    "train_steps": int(s // 4),
                    "average_return": float(r),
                    "average_episode_length": float(r),
                    "train_wall_time_s": float(s / 900),
                }
                for s, r in zip(steps, returns, strict=True)
            ]
            metrics = {
                "status": "completed",
                "final_eval_return": float(returns[-1]),
                "best_eval_return": float(returns.max()),
                "reward_threshold": 475.0,
                "solved_at_env_steps": None,
                "solved_at_wall_time_s": None,
                "evaluations": evaluations,
                "env_steps": int(steps[-1]),
                "train_steps": int(steps[-1] // 4),
                "episodes": 100,
                "wall_time_s": float(steps[-1] / 800),
                "train_wall_time_s": float(steps[-1] / 900),
            }
            (run / "metrics.json").write_text(json.dumps(metrics))
            job += 1
    (root / "sweep.json").write_text(json.dumps({"status": "finished"}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sweep"
        write_sweep(root)
        times, cpu = [], []
        for i in range(args.repeats):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            proc = subprocess.run(
                [str(RLEXP), "report", str(root), f"out={tmp}/report{i}"],
                capture_output=True,
                text=True,
            )
            times.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if proc.returncode:
                sys.exit(f"rlexp report failed:\n{proc.stdout}\n{proc.stderr}")
        print(
            f"rlexp report, 12-run sweep: median {statistics.median(times):.2f} s wall, "
            f"{statistics.median(cpu):.2f} s CPU (user+sys: the wall time of an idle machine) "
            f"(runs: {', '.join(f'{t:.2f}' for t in times)}; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
        )


if __name__ == "__main__":
    main()
