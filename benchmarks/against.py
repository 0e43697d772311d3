"""This tree's default run against a git revision's: where a change to the run's phases
gains or loses time, with the same results.

Alternates `run_breakdown.py` in fresh processes between this tree and the rlexp of REV,
then prints the medians of the process's wall time, the training wall time, the first
training-loop call, the first evaluation and the export, their ratios (this tree over
REV), and whether every run's evaluation returns are the same. With `--sweep N` each side
is instead a sweep `rlexp -m repeat=N` of the default experiment, timed whole; with
`--process`, one `rlexp train` process started through the tree's console entry point,
timed from its start to its exit (the breakdown's clock stops before the exit):

    .venv/bin/python benchmarks/against.py REV [--pairs 5] [--sweep N | --process] [overrides...]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from pairs import compare
from performance import RLEXP, breakdown, source_at  # this folder's harness

# The loop's first call; its trace is a phase of its own where it is done ahead of the call.
FIRST_CALL = ("training loop: 1st call", "training loop: trace ahead")
PHASES = {
    "training loop, 1st call (with its trace), s": FIRST_CALL,
    "evaluation, 1st (compile), s": ("evaluation: 1st (compile)",),
    "policy export, s": ("policy export (policy/, policy_best/)",),
    "summaries, s": ("summaries",),
    "metrics.json, s": ("metrics.json",),
}


def phase(names: tuple[str, ...], report: dict) -> float:
    return sum(report["phases_s"].get(name, 0.0) for name in names)


MEASURES = {
    "process wall time, s": lambda r: r["process_wall_s"],
    "training wall time, s": lambda r: r["train_wall_time_s"],
    **{label: functools.partial(phase, names) for label, names in PHASES.items()},
}


def sweep(source: str | None, runs: int, overrides: list[str]) -> dict:
    """The wall time of `rlexp -m repeat=<runs>` (`source`: another rlexp tree), and its
    runs' final evaluation returns in seed order."""
    env = dict(os.environ, PYTHONPATH=source) if source else None
    with tempfile.TemporaryDirectory(prefix="rlexp_sweep_") as root:
        args = [RLEXP, "-m", f"repeat={runs}", "train.progress=false", *overrides]
        began = time.perf_counter()
        subprocess.run([*args, f"hydra.sweep.dir={root}"], capture_output=True, env=env)
        wall = time.perf_counter() - began
        files = Path(root).glob("*/metrics.json")  # in job folders `<n>_seed=<seed>`
        by_job = sorted(files, key=lambda f: int(f.parent.name.split("_")[0]))
        metrics = [json.loads(f.read_text()) for f in by_job]
    if [m.get("status") for m in metrics] != ["completed"] * runs:
        raise RuntimeError(f"{' '.join(args)}: not every run completed")
    return {"sweep_wall_s": wall, "eval_returns": [m["final_eval_return"] for m in metrics]}


def whole_process(source: str, pyproject: str, overrides: list[str]) -> dict:
    """`rlexp train` of the tree at `source` in a process started as its console command
    (`pyproject`: that tree's pyproject.toml, which names the entry point), timed to exit."""
    module, function = tomllib.loads(pyproject)["project"]["scripts"]["rlexp"].split(":")
    code = f"import sys; from {module} import {function} as f; sys.exit(f())"
    with tempfile.TemporaryDirectory(prefix="rlexp_process_") as run_dir:
        args = [sys.executable, "-c", code, "train", "train.progress=false", *overrides]
        began = time.perf_counter()
        subprocess.run(
            [*args, f"hydra.run.dir={run_dir}"],
            capture_output=True,
            env=dict(os.environ, PYTHONPATH=source),
            check=True,
        )
        wall = time.perf_counter() - began
        metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    returns = [metrics["final_eval_return"], metrics["best_eval_return"]]
    return {
        "process_wall_s": wall,
        "train_wall_time_s": metrics["train_wall_time_s"],
        "eval_returns": returns,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--sweep", type=int, default=0, help="compare sweeps of N runs")
    parser.add_argument("--process", action="store_true", help="compare whole processes")
    args, overrides = parser.parse_known_args()
    with tempfile.TemporaryDirectory(prefix="rlexp_against_") as tree:
        before = source_at(args.revision, tree)
        if args.sweep:
            runs = {
                "this tree": lambda: sweep(None, args.sweep, overrides),
                args.revision: lambda: sweep(before, args.sweep, overrides),
            }
            measures = {"sweep wall time, s": lambda r: r["sweep_wall_s"]}
        elif args.process:
            root = Path(__file__).resolve().parents[1]
            revision_pyproject = subprocess.run(
                ["git", "show", f"{args.revision}:pyproject.toml"],
                cwd=root,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            this = (root / "pyproject.toml").read_text()
            runs = {
                "this tree": lambda: whole_process(str(root), this, overrides),
                args.revision: lambda: whole_process(before, revision_pyproject, overrides),
            }
            measures = {
                "process wall time (start to exit), s": lambda r: r["process_wall_s"],
                "training wall time, s": lambda r: r["train_wall_time_s"],
            }
        else:
            runs = {
                "this tree": lambda: breakdown(overrides=tuple(overrides)),
                args.revision: lambda: breakdown(before, tuple(overrides)),
            }
            measures = MEASURES
        compare(runs, measures, args.pairs)


if __name__ == "__main__":
    main()
