"""What skipping XLA's slow while-loop passes (`rlexp.training.xla.SKIPPED_PASSES`) saves.

Runs the default experiment in fresh processes (`run_breakdown.py`), alternating rlexp's
default (the passes skipped) with XLA's whole pipeline (`XLA_FLAGS=--xla_disable_hlo_passes=`,
which rlexp keeps), and prints per mode the median first call of the training loop (its
trace and compile), the median steady training, the median training wall time, their
ratios, and whether every run's evaluation returns are the same:

    .venv/bin/python benchmarks/xla_passes.py [--pairs 4] [overrides...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

MODES = {"rlexp default (passes skipped)": None, "XLA's whole pipeline": ""}
MEASURES = {
    "loop 1st call (trace, compile), s": lambda d: d["phases_s"]["training loop: 1st call"],
    "steady training, s": lambda d: d["phases_s"]["training loop (steady)"],
    "training wall time, s": lambda d: d["train_wall_time_s"],
}


def breakdown(disabled: str | None, overrides: list[str]) -> dict:
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    if disabled is not None:
        env["XLA_FLAGS"] = f"--xla_disable_hlo_passes={disabled}"
    script = str(Path(__file__).with_name("run_breakdown.py"))
    result = subprocess.run(
        [sys.executable, script, *overrides], capture_output=True, text=True, env=env
    )
    if result.returncode:
        raise RuntimeError(f"run_breakdown.py failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=4)
    args, overrides = parser.parse_known_args()
    runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for _ in range(args.pairs):
        for mode, disabled in MODES.items():
            runs[mode].append(breakdown(disabled, overrides))
            print(f"  {mode}: {[round(f(runs[mode][-1]), 2) for f in MEASURES.values()]}")
    medians = {
        mode: {name: statistics.median(map(f, done)) for name, f in MEASURES.items()}
        for mode, done in runs.items()
    }
    default, whole = medians.values()
    print("| measure | " + " | ".join(MODES) + " | ratio |\n|---|---|---|---|")
    for name in MEASURES:
        print(
            f"| {name} | {default[name]:.2f} | {whole[name]:.2f} | "
            f"{default[name] / whole[name]:.2f} |"
        )
    returns = {json.dumps(d["eval_returns"]) for done in runs.values() for d in done}
    print(f"evaluation returns the same in every run: {len(returns) == 1}")


if __name__ == "__main__":
    main()
