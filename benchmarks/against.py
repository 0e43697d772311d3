"""This tree's default run against a git revision's: where a change to the run's phases
gains or loses time, with the same results.

Alternates `run_breakdown.py` in fresh processes between this tree and the rlexp of REV,
then prints the medians of the process's wall time, the training wall time, the first
training-loop call, the first evaluation and the export, their ratios (this tree over
REV), and whether every run's evaluation returns are the same. With `--sweep N` each side
is instead a sweep `rlexp -m repeat=N` of the default experiment, timed whole; with
`--process`, one `rlexp train` process, timed from its start to its exit (the breakdown's
clock stops before the exit). Sweeps and processes start through each tree's own console
entry point:

    .venv/bin/python benchmarks/against.py REV [--pairs 5] [--sweep N | --process] [overrides...]
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from pairs import compare
from performance import breakdown, rlexp_env, source_at  # this folder's harness

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


def rlexp_command(root: Path, revision: str | None = None) -> list[str]:
    """`rlexp` started through the console entry point that the pyproject.toml of `root`'s
    working tree (or of its git `revision`) names: each tree's own exit path."""
    if revision is None:
        pyproject = (root / "pyproject.toml").read_text()
    else:
        show = ["git", "show", f"{revision}:pyproject.toml"]
        pyproject = subprocess.run(show, cwd=root, capture_output=True, text=True, check=True)
        pyproject = pyproject.stdout
    module, function = tomllib.loads(pyproject)["project"]["scripts"]["rlexp"].split(":")
    return [
        sys.executable,
        "-c",
        f"import sys; from {module} import {function} as f; sys.exit(f())",
    ]


def sweep(env: dict[str, str], command: list[str], runs: int, overrides: list[str]) -> dict:
    """The wall time of `rlexp -m repeat=<runs>` of the rlexp tree `env` selects
    (`rlexp_env`), and its runs' final evaluation returns in seed order."""
    with tempfile.TemporaryDirectory(prefix="rlexp_sweep_") as root:
        args = [*command, "-m", f"repeat={runs}", "train.progress=false", *overrides]
        began = time.perf_counter()
        subprocess.run(
            [*args, f"hydra.sweep.dir={root}"],
            capture_output=True,
            env=env,
        )
        wall = time.perf_counter() - began
        files = Path(root).glob("*/metrics.json")  # in job folders `<n>_seed=<seed>`
        by_job = sorted(files, key=lambda f: int(f.parent.name.split("_")[0]))
        metrics = [json.loads(f.read_text()) for f in by_job]
    if [m.get("status") for m in metrics] != ["completed"] * runs:
        raise RuntimeError(f"{' '.join(args)}: not every run completed")
    return {"sweep_wall_s": wall, "eval_returns": [m["final_eval_return"] for m in metrics]}


def whole_process(env: dict[str, str], command: list[str], overrides: list[str]) -> dict:
    """One `rlexp train` of the rlexp tree `env` selects (`rlexp_env`), timed from its start
    to its exit."""
    with tempfile.TemporaryDirectory(prefix="rlexp_process_") as run_dir:
        args = [*command, "train", "train.progress=false", *overrides]
        began = time.perf_counter()
        subprocess.run(
            [*args, f"hydra.run.dir={run_dir}"],
            capture_output=True,
            env=env,
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
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="rlexp_against_") as tree:
        before = source_at(args.revision, tree)
        trees = {  # each side's environment (its rlexp, checked) and command
            "this tree": (rlexp_env(root), rlexp_command(root)),
            args.revision: (rlexp_env(Path(before)), rlexp_command(root, args.revision)),
        }
        if args.sweep:
            runs = {
                name: functools.partial(sweep, env, command, args.sweep, overrides)
                for name, (env, command) in trees.items()
            }
            measures = {"sweep wall time, s": lambda r: r["sweep_wall_s"]}
        elif args.process:
            runs = {
                name: functools.partial(whole_process, env, command, overrides)
                for name, (env, command) in trees.items()
            }
            measures = {
                "process wall time (start to exit), s": lambda r: r["process_wall_s"],
                "training wall time, s": lambda r: r["train_wall_time_s"],
            }
        else:
            runs = {
                "this tree": lambda: breakdown(str(root), tuple(overrides)),
                args.revision: lambda: breakdown(before, tuple(overrides)),
            }
            measures = MEASURES
        compare(runs, measures, args.pairs)


if __name__ == "__main__":
    main()
