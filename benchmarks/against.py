"""This tree's default run against a git revision's: where a change to the run's phases
gains or loses time, with the same results.

Alternates `run_breakdown.py` in fresh processes between this tree and the rlexp of REV,
then prints the medians of the process's wall time, the training wall time, the first
training-loop call, the first evaluation and the export, their ratios (this tree over
REV), and whether every run's evaluation returns are the same:

    .venv/bin/python benchmarks/against.py REV [--pairs 5] [overrides...]
"""

from __future__ import annotations

import argparse
import functools
import tempfile

from pairs import compare
from performance import breakdown, source_at  # this folder's harness

# The loop's first call; its trace is a phase of its own where it is done ahead of the call.
FIRST_CALL = ("training loop: 1st call", "training loop: trace ahead")
PHASES = {
    "training loop, 1st call (with its trace), s": FIRST_CALL,
    "evaluation, 1st (compile), s": ("evaluation: 1st (compile)",),
    "policy export, s": ("policy export (policy/, policy_best/)",),
}


def phase(names: tuple[str, ...], report: dict) -> float:
    return sum(report["phases_s"].get(name, 0.0) for name in names)


MEASURES = {
    "process wall time, s": lambda r: r["process_wall_s"],
    "training wall time, s": lambda r: r["train_wall_time_s"],
    **{label: functools.partial(phase, names) for label, names in PHASES.items()},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision")
    parser.add_argument("--pairs", type=int, default=5)
    args, overrides = parser.parse_known_args()
    with tempfile.TemporaryDirectory(prefix="rlexp_against_") as tree:
        before = source_at(args.revision, tree)
        runs = {
            "this tree": lambda: breakdown(overrides=tuple(overrides)),
            args.revision: lambda: breakdown(before, tuple(overrides)),
        }
        compare(runs, MEASURES, args.pairs)


if __name__ == "__main__":
    main()
