"""The report's figures: sample-efficiency curves, the performance profile and the
sensitivity of the metric to each swept numeric hyperparameter (matplotlib, Agg).

Curves: one thin line per seed over its own evaluations, and the IQM over the seeds with
its 95% bootstrap band on a common grid: the x range every seed reached, each seed
interpolated between its own evaluations, so n is the same at every point and no curve
jumps where one seed has no evaluation.

`rlexp report` draws them in a forked process (`rlexp.sweeps.drawing`) while it writes its
tables: importing matplotlib and Agg's drawing are most of the report's time, so two cores
nearly halve it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rlexp.rundir import lower_is_better
from rlexp.sweeps.drawing import Drawing
from rlexp.sweeps.runs import Group, fewest_seeds, number, varying_keys
from rlexp.sweeps.statistics import MIN_SEEDS, band, iqm

X_LABELS = {"env_steps": "env steps", "train_wall_time_s": "training time (s)"}
GRID_POINTS = 200
TITLES = {  # file stem -> title in report.md
    "learning_curves": "sample-efficiency curves",
    "profile": "performance profile",
    "sensitivity": "sensitivity to the swept hyperparameters",
}


def _figure(ncols: int = 1, size: tuple[float, float] = (9, 5.5)):
    """A figure and its axes row, without pyplot (no GUI backend, half the import time)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=100)
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def common_grid(curves: list[list[tuple[float, float]]]) -> np.ndarray:
    """The evaluation x values inside the range every curve covers (at most GRID_POINTS)."""
    start = max(c[0][0] for c in curves)
    stop = min(c[-1][0] for c in curves)
    xs = np.unique([x for c in curves for x, _ in c if start <= x <= stop])
    if xs.size > GRID_POINTS:
        xs = np.linspace(start, stop, GRID_POINTS)
    return xs


def on_grid(curves: list[list[tuple[float, float]]], grid: np.ndarray) -> np.ndarray:
    """Seeds x grid matrix, each seed linearly interpolated between its own evaluations."""
    return np.vstack([np.interp(grid, [p[0] for p in c], [p[1] for p in c]) for c in curves])


def few_seeds_note(groups: list[Group], metric: str) -> str:
    fewest = fewest_seeds(groups, metric)
    if fewest >= MIN_SEEDS:
        return ""
    return f"only {fewest} seed(s) in a configuration: intervals are unreliable (< {MIN_SEEDS})"


def seed_curves(group: Group, x: str, metric: str) -> list[list[tuple[float, float]]]:
    """The evaluation curves of the runs the statistics of `metric` count."""
    return [c for c in (r.curve(x) for r in group.counted(metric)) if c]


def no_common_range_note(groups: list[Group], x: str, metric: str) -> str:
    """Why a configuration's IQM curve is missing: the seeds share no x range (training times
    of seeds that ran one after another, with and without warm-ups, need not overlap)."""
    missing = [
        g.label for g in groups if (c := seed_curves(g, x, metric)) and not common_grid(c).size
    ]
    if not missing:
        return ""
    fix = "; x=env_steps aligns them" if x != "env_steps" else ""
    named = ", ".join(f"`{label}`" for label in missing)
    return (
        f"no IQM curve for {named}: the seeds share no {X_LABELS.get(x, x)} range, so only "
        f"the seeds' lines are drawn{fix}"
    )


def _finish(fig, ax, path: Path, title: str, note: str) -> None:
    ax.set_title(title + (f"\nWARNING: {note}" if note else ""), fontsize=10)
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.1, top=0.88)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="best")
    _save(fig, path)


def _save(fig, path: Path) -> None:
    """PNG at zlib level 3: the same pixels, files ~5% larger, encoding a third faster."""
    if path.suffix == ".png":
        fig.savefig(path, pil_kwargs={"compress_level": 3})
    else:
        fig.savefig(path)


def plot_curves(
    path: Path,
    groups: list[Group],
    x: str,
    metric: str,
    threshold: float,
    best: set[int],
    note: str,
) -> None:
    """Per configuration, its seeds' curves and their IQM with its band over the x range
    every seed reached; the title names a configuration whose seeds share no range."""
    fig, (ax,) = _figure()
    low, high = math.inf, -math.inf
    for index, g in enumerate(groups):
        curves = seed_curves(g, x, metric)
        if not curves:
            continue
        color = f"C{index % 10}"
        for c in curves:
            ys = [p[1] for p in c]
            ax.plot([p[0] for p in c], ys, color=color, linewidth=0.7, alpha=0.35)
            low, high = min(low, *ys), max(high, *ys)
        grid = common_grid(curves)
        if grid.size:
            point, lo, hi = band(on_grid(curves, grid))
            mark = " [best]" if index in best else ""
            ax.plot(
                grid,
                point,
                color=color,
                linewidth=2.2,
                label=f"{g.label[:60]} IQM (n={len(curves)}){mark}",
            )
            ax.fill_between(grid, lo, hi, color=color, alpha=0.2)
    if math.isfinite(threshold):
        ax.axhline(
            threshold,
            color="k",
            linestyle="--",
            linewidth=1,
            label=f"reward threshold {threshold:g}",
        )
    if math.isfinite(low):
        margin = 0.05 * (high - low) or 1.0
        ax.set_ylim(low - margin, high + margin)
    ax.set_xlabel(X_LABELS.get(x, x))
    ax.set_ylabel("eval average return")
    note = "; ".join(filter(None, [note, no_common_range_note(groups, x, metric)]))
    _finish(fig, ax, path, "eval return: IQM and 95% bootstrap band; thin lines: seeds", note)


def profile_shares(values: np.ndarray, taus: np.ndarray, lower: bool) -> np.ndarray:
    """Per tau, the fraction of `values` better than it: above tau, or with `lower` at most
    tau (an infinite value, a run that never solved, never is)."""
    better = values[None, :] <= taus[:, None] if lower else values[None, :] > taus[:, None]
    return better.mean(axis=1)


def plot_profile(path: Path, groups: list[Group], metric: str, note: str) -> None:
    """Performance profile: the fraction of runs better than tau (`profile_shares`)."""
    fig, (ax,) = _figure(size=(7, 4.5))
    values = [np.asarray(g.results(metric)) for g in groups]
    pooled = np.concatenate([v[np.isfinite(v)] for v in values] or [np.zeros(0)])
    lower = lower_is_better(metric)
    if pooled.size:
        taus = np.linspace(pooled.min(), pooled.max(), 200)
        for index, (g, v) in enumerate(zip(groups, values, strict=True)):
            if v.size:
                ax.step(
                    taus,
                    profile_shares(v, taus, lower),
                    where="post",
                    color=f"C{index % 10}",
                    label=f"{g.label[:60]} (n={v.size})",
                )
    ax.set_xlabel(f"{metric} (tau)")
    ax.set_ylabel(f"fraction of runs with {metric} {'<=' if lower else '>'} tau")
    ax.set_ylim(-0.02, 1.02)
    _finish(fig, ax, path, "performance profile", note)


def _plain_log_labels(axis) -> None:
    """Log-axis tick labels as plain text (1e-04), not mathtext: parsing mathtext costs
    a third of the figure's drawing time."""
    from matplotlib.ticker import LogFormatter

    axis.set_major_formatter(LogFormatter())
    axis.set_minor_formatter(LogFormatter(labelOnlyBase=False))


def numeric_swept_keys(groups: list[Group]) -> list[str]:
    keys = []
    for key in varying_keys(groups):
        values = [g.config.get(key) for g in groups]
        if all(math.isfinite(number(v)) for v in values):
            keys.append(key)
    return keys


def plot_sensitivity(path: Path, groups: list[Group], metric: str, note: str) -> bool:
    """The metric against each swept numeric hyperparameter: a point per seed, the IQM line
    (an infinite seed, one that never solved, counts in the IQM but is not drawn).
    Returns False (and writes nothing) when no numeric hyperparameter was swept."""
    keys = numeric_swept_keys(groups)
    if not keys:
        return False
    width = 5.5 * len(keys)
    fig, axes = _figure(len(keys), (width, 4.5))  # 0.8 in left of the axes: the y label
    fig.subplots_adjust(left=0.8 / width, right=0.98, bottom=0.12, top=0.84, wspace=0.25)
    for ax, key in zip(axes, keys, strict=True):
        others = [k for k in varying_keys(groups) if k != key]
        lines: dict[str, list[Group]] = {}
        for g in groups:
            lines.setdefault(",".join(f"{k}={g.config.get(k)}" for k in others), []).append(g)
        for index, (label, members) in enumerate(lines.items()):
            members.sort(key=lambda g: number(g.config.get(key)))
            xs, ys = [], []
            for g in members:
                v = np.asarray(g.results(metric))
                x, shown = number(g.config.get(key)), v[np.isfinite(v)]
                if shown.size:
                    ax.scatter([x] * shown.size, shown, color=f"C{index % 10}", s=14, alpha=0.6)
                if v.size and math.isfinite(middle := float(iqm(v))):
                    xs.append(x)
                    ys.append(middle)
            ax.plot(
                xs, ys, color=f"C{index % 10}", marker="o", label=f"IQM {label}" if label else "IQM"
            )
        positive = [number(g.config.get(key)) for g in groups]
        if min(positive) > 0 and max(positive) / min(positive) >= 10:
            ax.set_xscale("log")
            _plain_log_labels(ax.xaxis)
        ax.set_xlabel(key)
        ax.set_ylabel(metric)
        ax.set_title(key, fontsize=9)
    fig.suptitle(
        f"{metric} by hyperparameter: dots are seeds" + (f"\nWARNING: {note}" if note else ""),
        fontsize=10,
    )
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    _save(fig, path)
    return True


@dataclass
class Figures:
    """The report's figures: what they show and where they go."""

    out: Path
    format: str
    groups: list[Group]
    x: str
    metric: str
    threshold: float
    best: set[int]  # indices of the groups marked best
    note: str  # the few-seeds warning, or ""

    def titles(self) -> dict[str, str]:
        """File stem -> title of each figure drawn: the sensitivity plot only where a
        numeric hyperparameter was swept."""
        swept = bool(numeric_swept_keys(self.groups))
        return {k: v for k, v in TITLES.items() if swept or k != "sensitivity"}

    def path(self, name: str) -> Path:
        return self.out / f"{name}.{self.format}"

    def draw(self) -> None:
        """Every figure: matplotlib imported once, then the curves (the largest) drawn in a
        forked process of their own while this one draws the others, so that on two cores
        drawing takes the time of the larger half."""
        import matplotlib.figure  # noqa: F401  (before the fork: both processes use it)

        g, note = self.groups, self.note
        path = self.path("learning_curves")
        curves = (path, g, self.x, self.metric, self.threshold, self.best, note)
        with Drawing(lambda: plot_curves(*curves)) as c:
            plot_profile(self.path("profile"), g, self.metric, note)
            plot_sensitivity(self.path("sensitivity"), g, self.metric, note)
            c.wait()
