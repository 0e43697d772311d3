"""Time `rlexp report` on a synthetic 12-run sweep (3 learning rates x 4 seeds, 40
evaluations each, the default experiment's full composed config), target < 2 s.

    .venv/bin/python benchmarks/report_time.py                  # the median of 3 runs
    .venv/bin/python benchmarks/report_time.py --before main    # and the rlexp of a git ref

Each timing is the whole `rlexp report` command in a fresh process (interpreter start,
imports, statistics, three PNG figures), as a user waits for it. With `--before REF` the
rlexp package of that git ref (extracted with `git archive`, put first on PYTHONPATH) is
timed by the same command on the same sweep, the two interleaved (before, after, after,
before, ...) so that the machine's load affects both alike; the ratio after/before and
whether the two wrote the same report.md and CSV files are printed. The machine's 1-minute
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

from performance import rlexp_env, source_at  # this folder's harness

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


def time_report(root: Path, out: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall time, CPU time (user+sys, all processes) and 1-minute load of one `rlexp report`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [str(RLEXP), "report", str(root), f"out={out}"], capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit(f"rlexp report failed ({env.get('PYTHONPATH')}):\n{proc.stdout}\n{proc.stderr}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, os.getloadavg()[0]


def summary(name: str, runs: list[tuple[float, float, float]]) -> str:
    walls, cpus, loads = zip(*runs, strict=True)
    return (
        f"{name}: median {statistics.median(walls):.2f} s wall, "
        f"{statistics.median(cpus):.2f} s CPU (user+sys of all its processes) "
        f"(runs: {', '.join(f'{t:.2f}' for t in walls)}; "
        f"load average {min(loads):.1f}-{max(loads):.1f})"
    )


def same_outputs(a: Path, b: Path) -> str:
    differ = [
        name
        for name in ("report.md", "report.csv", "runs.csv")
        if (a / name).read_bytes() != (b / name).read_bytes()
    ]
    return f"outputs differ: {', '.join(differ)}" if differ else "same report.md and CSV files"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", metavar="REF", help="also time the rlexp of this git ref")
    args = parser.parse_args()
    root_dir = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "sweep"
        write_sweep(root)
        sides = {"after": rlexp_env(root_dir)}
        if args.before:
            old = Path(tmp) / "before"
            old.mkdir()
            sides["before"] = rlexp_env(Path(source_at(args.before, str(old))))
        timings: dict[str, list] = {side: [] for side in sides}
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
        for i in range(args.repeats):
            order = list(sides) if i % 2 else list(sides)[::-1]
            for side in order:
                out = Path(tmp) / f"{side}{i}"
                timings[side].append(time_report(root, out, sides[side]))
        print(summary("rlexp report, 12-run sweep", timings["after"]))
        if args.before:
            print(summary(f"before ({args.before})", timings["before"]))
            ratio = statistics.median(t[0] for t in timings["after"]) / statistics.median(
                t[0] for t in timings["before"]
            )
            print(
                f"after/before (median wall): {ratio:.2f}; "
                + same_outputs(Path(tmp) / "after0", Path(tmp) / "before0")
            )


if __name__ == "__main__":
    main()
