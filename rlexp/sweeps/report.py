"""`rlexp report <sweep dir | run dirs...> [out=DIR]`: compare the runs of a sweep.

Runs are grouped by configuration (the whole config minus the seed); each group gets the
number of seeds, the mean and 95% confidence interval (Student t) of the final and best
eval return, the IQM of the final return, the env steps to solve and the wall time. The
best configuration (highest mean final return) is marked. Learning curves (mean and 95%
CI band per configuration, x = env steps) go to a PNG; the table to CSV and Markdown.

Reads only run directories: metrics.json, job.json, .hydra/config.yaml and event files
(parsed by `rlexp.sweeps.event_files`); never imports TensorFlow or the training code.
A sweep that is still running gives a partial report, and says so.
"""

from __future__ import annotations

import csv
import json
import math
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlexp.rundir import HYDRA_DIR, JOB_FILE, METRICS_FILE, NOT_RUN_DIRS, SWEEP_FILE

EVAL_TAG = "eval/average_return"
SKIP_DIRS = NOT_RUN_DIRS | {".submitit"}
# Config keys that do not make a different configuration.
NOT_CONFIG = {"seed", "repeat", "sweep", "train.progress"}
T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


@dataclass
class Run:
    path: Path
    name: str
    status: str  # completed, failed, running
    error: str | None
    metrics: dict[str, Any]
    config: dict[str, Any]
    seed: int | None

    def curve(self) -> list[tuple[int, float]]:
        """(env steps, eval return): from the event files, else metrics.json."""
        from rlexp.sweeps.event_files import read_scalars

        points = read_scalars(self.path, {EVAL_TAG}).get(EVAL_TAG, [])
        if not points:
            points = [
                (e["env_steps"], e["average_return"]) for e in self.metrics.get("evaluations", [])
            ]
        latest: dict[int, float] = {}
        for step, value in points:
            latest[step] = value  # a rerun step keeps its last value
        return sorted(latest.items())


@dataclass
class Group:
    key: str
    config: dict[str, Any]
    runs: list[Run] = field(default_factory=list)
    label: str = ""

    def done(self) -> list[Run]:
        return [r for r in self.runs if r.status == "completed"]

    def values(self, key: str) -> list[float]:
        return [v for r in self.done() if _number(v := r.metrics.get(key)) is not None]


# ---------------------------------------------------------------- statistics


def mean_ci(values: list[float]) -> tuple[float, float, float]:
    """Mean and 95% CI (Student t over the seeds); the CI is NaN for fewer than 2 values."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan, math.nan
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    df = n - 1
    t = T975[df - 1] if df <= len(T975) else 1.96 + 2.37 / df
    half = t * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def iqm(values: list[float]) -> float:
    """Interquartile mean: the mean of the middle 50% (25% cut from each end, as trim_mean)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    cut = int(0.25 * len(ordered))
    middle = ordered[cut : len(ordered) - cut]
    return sum(middle) / len(middle)


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


# ---------------------------------------------------------------- finding runs


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _load_config(run_dir: Path) -> dict[str, Any]:
    from omegaconf import OmegaConf

    path = run_dir / HYDRA_DIR / "config.yaml"
    if not path.exists():
        return {}
    conf = OmegaConf.load(path)
    try:
        return OmegaConf.to_container(conf, resolve=True)
    except Exception:  # noqa: BLE001 (an interpolation only Hydra can resolve)
        return OmegaConf.to_container(conf, resolve=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def short_reason(error: str | None) -> str:
    """One line of a failure reason: TensorFlow's multi-line errors shrink to their message."""
    if not error:
        return "unknown"
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else "unknown"
    for i, line in enumerate(lines):
        if line.startswith("[[{{node") and i > 0:
            return f"{lines[0].split(':')[0]}: {lines[i - 1]}"
    return f"{lines[0]} ... {lines[-1]}"


def _status(metrics: dict[str, Any], job: dict[str, Any]) -> tuple[str, str | None]:
    if metrics.get("status") in ("completed", "failed"):
        return metrics["status"], metrics.get("error")
    if job.get("status") in ("completed", "failed"):
        return job["status"], job.get("error")
    pid = job.get("pid")
    if pid and job.get("host") == socket.gethostname() and not _alive(int(pid)):
        return "failed", "the training process is gone without a result (killed?)"
    return "running", None


def is_run_dir(path: Path) -> bool:
    return (path / METRICS_FILE).is_file() or (path / JOB_FILE).is_file()


def load_run(path: Path, root: Path | None = None) -> Run:
    metrics = _read_json(path / METRICS_FILE)
    job = _read_json(path / JOB_FILE)
    status, error = _status(metrics, job)
    config = _load_config(path)
    seed = config.get("seed", job.get("seed"))
    try:
        name = str(path.relative_to(root)) if root else path.name
    except ValueError:
        name = str(path)
    return Run(path, name if name != "." else path.name, status, error, metrics, config, seed)


def find_runs(paths: list[Path]) -> list[Run]:
    """Every run under `paths` (a run dir has metrics.json or job.json), sorted by name."""
    runs: list[Run] = []
    for root in map(Path, paths):
        if is_run_dir(root):
            runs.append(load_run(root, root.parent))
            continue
        for dirpath, dirnames, _ in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            here = Path(dirpath)
            if here != root and is_run_dir(here):
                runs.append(load_run(here, root))
                dirnames[:] = []  # a run's own subfolders hold no runs

    def order(run: Run) -> tuple:
        # `<num>_...` jobs by number; continuations (`c<k>-<num>_...`) after them.
        first = run.name.split("/")[0].split("_")[0]
        cont, _, num = first.rpartition("-")
        k = int(cont[1:]) if cont[1:].isdigit() else 0
        return (k, int(num) if num.isdigit() else math.inf, run.name)

    return sorted(runs, key=order)


# ---------------------------------------------------------------- grouping


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        flat: dict[str, Any] = {}
        for key, value in node.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: node}


def _config_key(config: dict[str, Any]) -> dict[str, Any]:
    flat = _flatten(config)
    return {
        k: v for k, v in flat.items() if k not in NOT_CONFIG and k.split(".")[0] not in NOT_CONFIG
    }


def group_runs(runs: list[Run]) -> list[Group]:
    groups: dict[str, Group] = {}
    for run in runs:
        config = _config_key(run.config)
        key = json.dumps(config, sort_keys=True, default=str)
        groups.setdefault(key, Group(key, config)).runs.append(run)
    ordered = list(groups.values())
    varying = sorted(
        {k for g in ordered for k in g.config if len({repr(h.config.get(k)) for h in ordered}) > 1}
    )
    for index, group in enumerate(ordered):
        parts = [f"{k}={_show(group.config.get(k))}" for k in varying]
        group.label = (
            ",".join(parts) if parts else ("all runs" if len(ordered) == 1 else str(index))
        )
    return ordered


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace(" ", "")


# ---------------------------------------------------------------- the report


@dataclass
class Row:
    group: Group
    seeds: int
    failed: int
    running: int
    final: tuple[float, float, float]
    best: tuple[float, float, float]
    final_iqm: float
    solved: int
    solve_steps: float
    wall_time: float
    is_best: bool = False


def summarize(groups: list[Group]) -> list[Row]:
    rows = []
    for g in groups:
        solve = g.values("solved_at_env_steps")
        wall = g.values("wall_time_s")
        rows.append(
            Row(
                group=g,
                seeds=len(g.done()),
                failed=sum(r.status == "failed" for r in g.runs),
                running=sum(r.status == "running" for r in g.runs),
                final=mean_ci(g.values("final_eval_return")),
                best=mean_ci(g.values("best_eval_return")),
                final_iqm=iqm(g.values("final_eval_return")),
                solved=len(solve),
                solve_steps=sum(solve) / len(solve) if solve else math.nan,
                wall_time=sum(wall) / len(wall) if wall else math.nan,
            )
        )
    ranked = [r for r in rows if math.isfinite(r.final[0])]
    if ranked:
        max(ranked, key=lambda r: r.final[0]).is_best = True
    return rows


def _fmt(x: float, digits: int = 1) -> str:
    return "-" if not math.isfinite(x) else f"{x:.{digits}f}"


def _fmt_ci(stat: tuple[float, float, float]) -> str:
    mean, low, high = stat
    if not math.isfinite(mean):
        return "-"
    if not math.isfinite(low):
        return f"{mean:.1f}"
    return f"{mean:.1f} [{low:.1f}, {high:.1f}]"


HEADER = (
    "",
    "configuration",
    "seeds",
    "final return (95% CI)",
    "best return (95% CI)",
    "IQM final",
    "solved",
    "env steps to solve",
    "wall time (s)",
    "failed",
    "running",
)


def table_rows(rows: list[Row]) -> list[list[str]]:
    return [
        [
            "best" if r.is_best else "",
            r.group.label,
            str(r.seeds),
            _fmt_ci(r.final),
            _fmt_ci(r.best),
            _fmt(r.final_iqm),
            f"{r.solved}/{r.seeds}",
            _fmt(r.solve_steps, 0),
            _fmt(r.wall_time),
            str(r.failed),
            str(r.running),
        ]
        for r in rows
    ]


def markdown_table(header: tuple[str, ...], body: list[list[str]]) -> str:
    cells = [list(header), *body]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def write_csv(path: Path, rows: list[Row]) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            [
                "configuration",
                "best",
                "seeds",
                "failed",
                "running",
                "final_return_mean",
                "final_return_ci95_low",
                "final_return_ci95_high",
                "best_return_mean",
                "best_return_ci95_low",
                "best_return_ci95_high",
                "final_return_iqm",
                "solved",
                "solved_at_env_steps_mean",
                "wall_time_s_mean",
                "runs",
            ]
        )
        for r in rows:
            out.writerow(
                [
                    r.group.label,
                    r.is_best,
                    r.seeds,
                    r.failed,
                    r.running,
                    *(_csv(x) for x in r.final),
                    *(_csv(x) for x in r.best),
                    _csv(r.final_iqm),
                    r.solved,
                    _csv(r.solve_steps),
                    _csv(r.wall_time),
                    " ".join(run.name for run in r.group.runs),
                ]
            )


def write_runs_csv(path: Path, groups: list[Group]) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            [
                "run",
                "configuration",
                "seed",
                "status",
                "final_eval_return",
                "best_eval_return",
                "solved_at_env_steps",
                "env_steps",
                "wall_time_s",
                "error",
            ]
        )
        for g in groups:
            for run in g.runs:
                m = run.metrics
                out.writerow(
                    [
                        run.name,
                        g.label,
                        run.seed,
                        run.status,
                        m.get("final_eval_return"),
                        m.get("best_eval_return"),
                        m.get("solved_at_env_steps"),
                        m.get("env_steps"),
                        m.get("wall_time_s"),
                        run.error or "",
                    ]
                )


def _csv(x: float) -> str:
    return "" if not math.isfinite(x) else f"{x:.6g}"


def curve_band(runs: list[Run]) -> tuple[list[int], list[float], list[float], list[float]]:
    """Mean and 95% CI of the eval return over the runs, at the union of their eval steps
    (each run interpolated inside its own range; a step counts the runs that reached it)."""
    import numpy as np

    curves = [c for c in (r.curve() for r in runs) if c]
    if not curves:
        return [], [], [], []
    steps = sorted({s for c in curves for s, _ in c})
    columns = []
    for c in curves:
        xs, ys = np.array([p[0] for p in c], float), np.array([p[1] for p in c], float)
        y = np.interp(steps, xs, ys)
        y[(np.array(steps) < xs[0]) | (np.array(steps) > xs[-1])] = np.nan
        columns.append(y)
    matrix = np.vstack(columns)
    mean, low, high = [], [], []
    for j in range(len(steps)):
        values = [float(v) for v in matrix[:, j] if np.isfinite(v)]
        m, lo, hi = mean_ci(values)
        mean.append(m)
        low.append(lo if math.isfinite(lo) else m)
        high.append(hi if math.isfinite(hi) else m)
    return steps, mean, low, high


def plot_curves(path: Path, groups: list[Group], rows: list[Row], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    best = {id(r.group) for r in rows if r.is_best}
    for g in groups:
        steps, mean, low, high = curve_band(g.runs)
        if not steps:
            continue
        n = len([r for r in g.runs if r.curve()])
        label = f"{g.label[:60]} (n={n})" + (" [best]" if id(g) in best else "")
        (line,) = ax.plot(steps, mean, label=label, linewidth=2.2 if id(g) in best else 1.4)
        ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("env steps")
    ax.set_ylabel("eval average return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


@dataclass
class Report:
    runs: list[Run]
    groups: list[Group]
    rows: list[Row]
    partial: bool
    out_dir: Path
    markdown: str


def build_report(paths: list[Path], out_dir: Path) -> Report:
    runs = find_runs(paths)
    groups = group_runs(runs)
    rows = summarize(groups)
    running = [r for r in runs if r.status == "running"]
    unfinished_sweeps = [
        p for p in paths if _read_json(Path(p) / SWEEP_FILE).get("status") == "running"
    ]
    partial = bool(running or unfinished_sweeps)
    failed = [r for r in runs if r.status == "failed"]
    completed = sum(r.status == "completed" for r in runs)
    where = ", ".join(str(p) for p in paths)
    status = (
        f"PARTIAL: the sweep is still running ({len(running)} runs running); "
        f"statistics cover the {completed} completed runs"
        if partial
        else f"complete: {completed} runs completed"
    )
    lines = [
        f"# rlexp report: {where}",
        "",
        f"{_count(len(runs), 'run')} in {_count(len(groups), 'configuration')}; {status}; "
        f"{len(failed)} failed.",
        "",
        "Configurations differ only in the keys shown; seeds are pooled. Returns: mean and "
        "95% CI (Student t over seeds) of the last and of the best greedy evaluation; IQM = "
        "interquartile mean of the final returns; env steps to solve: mean over the seeds "
        "that reached the reward threshold.",
        "",
        markdown_table(HEADER, table_rows(rows)),
    ]
    if failed:
        lines += ["", "## Failed runs", ""]
        lines += [f"- `{r.name}`: {short_reason(r.error)}" for r in failed]
    if running:
        lines += ["", "## Running", ""]
        lines += [f"- `{r.name}`" for r in running]
    lines += ["", "![learning curves](learning_curves.png)", ""]
    markdown = "\n".join(lines)

    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(out_dir / "report.csv", rows)
    write_runs_csv(out_dir / "runs.csv", groups)
    (out_dir / "report.md").write_text(markdown)
    title = "eval return: mean and 95% CI over seeds" + (
        " (PARTIAL: still running)" if partial else ""
    )
    plot_curves(out_dir / "learning_curves.png", groups, rows, title)
    return Report(runs, groups, rows, partial, out_dir, markdown)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def report_command(args: list[str]) -> int:
    """`rlexp report <sweep dir | run dirs...> [out=DIR]`."""
    from rlexp.arguments import split_paths

    names, options, unknown = split_paths(args, {"out"})  # a path may hold `=`
    paths = [Path(a) for a in names]
    if not paths or unknown:
        print("usage: rlexp report <sweep dir | run dirs...> [out=DIR]", file=sys.stderr)
        return 2
    missing = [p for p in paths if not p.is_dir()]
    if missing:
        print(f"rlexp report: error: no such directory: {missing[0]}", file=sys.stderr)
        return 2
    default_out = paths[0] / "report" if len(paths) == 1 else Path("report")
    out_dir = Path(options.get("out", default_out))
    if not find_runs(paths):
        print(
            f"rlexp report: error: no runs (metrics.json or job.json) under "
            f"{', '.join(map(str, paths))}",
            file=sys.stderr,
        )
        return 2
    report = build_report(paths, out_dir)
    print(report.markdown.replace("\n![learning curves](learning_curves.png)\n", ""))
    print(
        f"\nwritten: {out_dir / 'report.md'}, {out_dir / 'report.csv'}, "
        f"{out_dir / 'runs.csv'}, {out_dir / 'learning_curves.png'}"
    )
    return 0
