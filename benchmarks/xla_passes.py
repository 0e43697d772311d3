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
from unittest import mock

from performance import breakdown  # this folder's harness: run_breakdown.py in a process

MODES = {"rlexp default (passes skipped)": None, "XLA's whole pipeline": ""}
MEASURES = {
    "loop 1st call (trace, compile), s": lambda d: d["phases_s"]["training loop: 1st call"],
    "steady training, s": lambda d: d["phases_s"]["training loop (steady)"],
    "training wall time, s": lambda d: d["train_wall_time_s"],
}


def run(disabled: str | None, overrides: list[str]) -> dict:
    """A default run's breakdown in a fresh process, with `disabled` as XLA's disabled passes
    (None: rlexp's choice)."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    if disabled is not None:
        env["XLA_FLAGS"] = f"--xla_disable_hlo_passes={disabled}"
    with mock.patch.dict(os.environ, env, clear=True):
        return breakdown(overrides=tuple(overrides))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=4)
    args, overrides = parser.parse_known_args()
    runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for _ in range(args.pairs):
        for mode, disabled in MODES.items():
            runs[mode].append(run(disabled, overrides))
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
