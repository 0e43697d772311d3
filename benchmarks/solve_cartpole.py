"""Does the default experiment (DQN on CartPole-v1) solve the task, and how reliably?

Trains the default config once per seed (one run at a time), then reads each run's
metrics.json and reports the final greedy evaluation return (the average over
`train.eval_episodes` episodes, 10 by default, at the end of the env-step budget), the best
evaluation, the env step at which evaluation first reached the reward threshold, the env
steps run and the wall time. A seed counts as solved when its FINAL eval return is >= 475.

Writes <out>/results.json and <out>/results.md and prints the Markdown table.
Exits 0 unless a run crashed: this script reports, it does not assert.

Run it from the project root:

    .venv/bin/python benchmarks/solve_cartpole.py [--seeds 0,1,2,3,4] [--out DIR] [overrides]

Extra arguments are passed to every run as Hydra overrides, to try a variant, e.g.
`.venv/bin/python benchmarks/solve_cartpole.py agent=ddqn --out outputs/benchmarks/ddqn`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RLEXP = ROOT / ".venv" / "bin" / "rlexp"
SOLVED_RETURN = 475.0
COLUMNS = ["seed", "final greedy eval return", "best", "solved_at_env_steps", "env steps"]


def train(seed: int, out: Path, overrides: list[str]) -> dict[str, Any]:
    """Train one seed into out/seed_<seed>; return a row of results (`error` if it failed)."""
    run_dir = out / f"seed_{seed}"
    command = [
        str(RLEXP),
        "train",
        f"seed={seed}",
        f"hydra.run.dir={run_dir}",
        "train.progress=false",
        *overrides,
    ]
    print(f"[seed {seed}] {' '.join(command)}", flush=True)
    code = subprocess.run(command, cwd=ROOT).returncode
    metrics_file = run_dir / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
    row = {
        "seed": seed,
        "final_eval_return": metrics.get("final_eval_return"),
        "best_eval_return": metrics.get("best_eval_return"),
        "solved_at_env_steps": metrics.get("solved_at_env_steps"),
        "env_steps": metrics.get("env_steps"),
        "wall_time_s": metrics.get("wall_time_s"),
        "train_wall_time_s": metrics.get("train_wall_time_s"),
        "eval_episodes": eval_episodes(run_dir),
        "evaluations": metrics.get("evaluations", []),
        "run_dir": str(run_dir),
    }
    if code != 0 or metrics.get("status") != "completed":
        row["error"] = metrics.get("error") or f"exit code {code}"
    return row


def eval_episodes(run_dir: Path) -> int | None:
    """Episodes per evaluation, from the config Hydra saved in the run dir."""
    from omegaconf import OmegaConf

    config = run_dir / ".hydra" / "config.yaml"
    return OmegaConf.load(config).train.eval_episodes if config.exists() else None


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def markdown(rows: list[dict[str, Any]], overrides: list[str]) -> str:
    episodes = {r["eval_episodes"] for r in rows if r["eval_episodes"] is not None}
    episodes_text = ", ".join(str(e) for e in sorted(episodes)) or "?"
    columns = [*COLUMNS, "wall time s"]
    columns[1] += f" ({episodes_text} episodes)"
    lines = ["| " + " | ".join(columns) + " |", "|" + "---:|" * len(columns)]
    for r in rows:
        cells = [
            r["seed"],
            r["final_eval_return"],
            r["best_eval_return"],
            r["solved_at_env_steps"],
            r["env_steps"],
            r["wall_time_s"],
        ]
        line = "| " + " | ".join(fmt(c) for c in cells) + " |"
        lines.append(line + (f" failed: {r['error'][:80]}" if "error" in r else ""))
    solved = sum((r["final_eval_return"] or 0.0) >= SOLVED_RETURN for r in rows)
    times = [r["wall_time_s"] for r in rows if r["wall_time_s"] is not None]
    median = f"{statistics.median(times):.1f} s" if times else "-"
    lines += [
        "",
        f"{solved} of {len(rows)} seeds reached final eval >= {SOLVED_RETURN:g}; "
        f"median wall time {median}.",
        f"Overrides: {' '.join(overrides) or '(none: the default experiment)'}",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds")
    parser.add_argument("--out", type=Path, default=Path("outputs/benchmarks/solve_cartpole"))
    args, overrides = parser.parse_known_args()
    out = args.out if args.out.is_absolute() else ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)

    seeds = [int(seed) for seed in args.seeds.split(",")]
    rows = [train(seed, out, overrides) for seed in seeds]
    table = markdown(rows, overrides)
    results = {"overrides": overrides, "solved_return": SOLVED_RETURN, "runs": rows}
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(table)
    print(table)
    print(f"results: {out / 'results.md'}")
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
