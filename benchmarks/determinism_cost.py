"""What does TensorFlow op determinism (`deterministic=true`, the default) cost in speed?

Trains the default experiment for a short budget with `deterministic=true` and `=false`,
alternating, in one process, and reports the training throughput (env steps per second of
training wall time, evaluation excluded) of each and their ratio. The default stays on
while the slowdown is under 20%.

    .venv/bin/python benchmarks/determinism_cost.py [--env-steps 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from rlexp.composition import compose_config
from rlexp.training.trainer import train


def throughput(deterministic: bool, env_steps: int, out: Path) -> float:
    cfg = compose_config(
        [
            f"deterministic={str(deterministic).lower()}",
            f"train.env_steps={env_steps}",
            f"train.eval_interval={env_steps}",
            "train.eval_episodes=1",
            f"train.checkpoint_interval={env_steps}",
            "train.progress=false",
        ]
    )
    metrics = train(cfg, out)
    return metrics["env_steps"] / metrics["train_wall_time_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-steps", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("outputs/benchmarks/determinism_cost"))
    args = parser.parse_args()

    results: dict[str, list[float]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory() as scratch:
        throughput(True, 2_000, Path(scratch) / "warmup")  # first run pays TF's start-up
        for i in range(args.repeats):
            for mode in ("on", "off"):
                rate = throughput(mode == "on", args.env_steps, Path(scratch) / f"{mode}{i}")
                results[mode].append(rate)
                print(f"deterministic={mode:<3} run {i}: {rate:8.1f} env steps/s", flush=True)
    on, off = statistics.median(results["on"]), statistics.median(results["off"])
    summary = {
        "env_steps_per_run": args.env_steps,
        "repeats": args.repeats,
        "deterministic_on_steps_per_s": results["on"],
        "deterministic_off_steps_per_s": results["off"],
        "median_on": on,
        "median_off": off,
        "slowdown": 1 - on / off,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    table = (
        "| deterministic | median env steps/s |\n| --- | --- |\n"
        f"| true | {on:.0f} |\n| false | {off:.0f} |\n\n"
        f"slowdown from op determinism: {100 * summary['slowdown']:.1f}% "
        f"(on/off ratio {on / off:.3f}; keep it on while under 20%)\n"
    )
    (args.out / "results.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
