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
import os
from unittest import mock

from against import FIRST_CALL, phase
from pairs import compare
from performance import breakdown  # this folder's harness: run_breakdown.py in a process

MEASURES = {
    "loop 1st call (trace, compile), s": lambda r: phase(FIRST_CALL, r),
    "steady training, s": lambda r: r["phases_s"]["training loop (steady)"],
    "training wall time, s": lambda r: r["train_wall_time_s"],
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
    runs = {
        "rlexp default (passes skipped)": lambda: run(None, overrides),
        "XLA's whole pipeline": lambda: run("", overrides),
    }
    compare(runs, MEASURES, args.pairs)


if __name__ == "__main__":
    main()
