"""The report's tables as pandas DataFrames: per configuration and per seed.

CSV files keep full precision; the Markdown tables round each configuration's numbers to
what its interval supports (two significant digits of the interval's width). A run that
never solved counts as solving at inf (`Run.result`): both show it as `inf`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rlexp.sweeps.runs import Group, Run, short_reason
from rlexp.sweeps.statistics import NO_ESTIMATE, Estimate, Summary

if TYPE_CHECKING:
    import pandas as pd

RUN_KEYS = (
    "final_eval_return",
    "best_eval_return",
    "solved_at_env_steps",
    "solved_at_wall_time_s",
    "env_steps",
    "wall_time_s",
)


@dataclass
class ConfigResult:
    """One configuration's statistics of the report's metric."""

    group: Group
    summary: Summary
    improvement: Estimate | None  # P(leader better than this one); None for the leader
    mark: str  # "best", "tied" or ""
    env: str = ""  # the env it trains on (`Group.env`): it is ranked among that env's
    few: bool = False  # fewer than MIN_SEEDS seeds (none: no result): no leader is called best
    leader: bool = False  # the best IQM of its env, against which P(leader better) is given


def decimals(e: Estimate, default: int = 1) -> int:
    """Decimals that keep two significant digits of the interval's width (where one end is
    infinite: of the distance from the value to the finite end)."""
    width = e.high - e.low
    if math.isinf(width) and math.isfinite(e.value):
        width = max((abs(e.value - x) for x in (e.low, e.high) if math.isfinite(x)), default=0)
    if not (math.isfinite(width) and width > 0):
        return default
    return max(0, 1 - math.floor(math.log10(width)))


def show(e: Estimate, digits: int) -> str:
    if not e.has_interval:
        return _round(e.value, digits)
    return f"{_round(e.value, digits)} [{_round(e.low, digits)}, {_round(e.high, digits)}]"


def _round(value: float, digits: int) -> str:
    """`value` to `digits` decimals; `-` for NaN (no value), `inf` for infinity."""
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def configuration_frame(results: list[ConfigResult], metric: str) -> pd.DataFrame:
    """Full-precision statistics per configuration (the CSV)."""
    import pandas as pd

    rows = []
    for r in results:
        g, s = r.group, r.summary
        row = {"configuration": g.label, "mark": r.mark, "seeds": s.n}
        for name in ("mean", "median", "iqm", "optimality_gap"):
            e: Estimate = getattr(s, name)
            row |= {f"{metric}_{name}": e.value, f"{name}_ci95_low": e.low}
            row[f"{name}_ci95_high"] = e.high
        p = r.improvement
        row |= {
            "p_leader_better": p.value if p else math.nan,
            "p_leader_better_ci95_low": p.low if p else math.nan,
            "p_leader_better_ci95_high": p.high if p else math.nan,
            "solved": len(_finite(g.counted(metric), "solved_at_env_steps")),
            "failed": sum(run.status == "failed" for run in g.runs),
            "running": sum(run.status == "running" for run in g.runs),
            "runs": " ".join(run.name for run in g.runs),
        }
        rows.append(row)
    return pd.DataFrame(rows)


def configuration_markdown(results: list[ConfigResult], metric: str) -> str:
    """Per-configuration table, numbers rounded to what their intervals support."""
    import pandas as pd

    rows = []
    for r in results:
        s, g = r.summary, r.group
        counted = g.counted(metric)
        solve = _finite(counted, "solved_at_env_steps")
        to_solve = [v for r in counted if not math.isnan(v := r.result("solved_at_env_steps"))]
        wall = _finite(counted, "wall_time_s")
        p = r.improvement
        rows.append(
            {
                "": r.mark,
                "configuration": g.label,
                "seeds": s.n,
                f"IQM {metric} [95% CI]": show(s.iqm, decimals(s.iqm)),
                "mean [95% CI]": show(s.mean, decimals(s.mean)),
                "median [95% CI]": show(s.median, decimals(s.median)),
                "optimality gap [95% CI]": show(s.optimality_gap, decimals(s.optimality_gap)),
                "P(leader better) [95% CI]": "leader" if r.leader else show(p or NO_ESTIMATE, 2),
                "solved": f"{len(solve)}/{s.n}",
                "median env steps to solve": _round(_median(to_solve), 0),
                "mean wall time (s)": _round(sum(wall) / len(wall) if wall else math.nan, 0),
                "failed": sum(run.status == "failed" for run in g.runs),
                "running": sum(run.status == "running" for run in g.runs),
            }
        )
    return pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True)


def _finite(runs: list[Run], key: str) -> list[float]:
    """The runs' finite values of `key`."""
    return [v for r in runs if math.isfinite(v := r.value(key))]


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return math.nan
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def run_frame(groups: list[Group], metric: str) -> pd.DataFrame:
    """One row per run at full precision (the per-seed CSV); the metric as ranked."""
    import pandas as pd

    keys = [metric, *(k for k in RUN_KEYS if k != metric)]
    rows = [
        {
            "run": run.name,
            "configuration": g.label,
            "seed": run.seed,
            "status": run.status,
            metric: run.result(metric),
            **{k: run.value(k) for k in keys[1:]},
            "error": short_reason(run.error) if run.error else "",
        }
        for g in groups
        for run in g.runs
    ]
    return pd.DataFrame(rows, columns=["run", "configuration", "seed", "status", *keys, "error"])


def run_markdown(frame: pd.DataFrame, results: list[ConfigResult], metric: str) -> str:
    """The per-seed table: env steps in whole steps, the metric rounded as its
    configuration's mean interval, every other column to two significant digits of its own
    spread over the configuration's runs."""
    digits = {r.group.label: decimals(r.summary.mean) for r in results}
    shown = frame.drop(columns=["error"]).astype(object)
    for label, rows in frame.groupby("configuration", sort=False):
        for key in shown.columns[4:]:
            if "steps" in key:
                places = 0
            elif key == metric:
                places = digits.get(label, 1)
            else:
                places = _spread_decimals(rows[key].astype(float).tolist())
            for index in rows.index:
                shown.at[index, key] = _round(float(frame.at[index, key]), places)
    shown["seed"] = ["-" if seed is None or seed != seed else str(seed) for seed in frame["seed"]]
    return shown.to_markdown(index=False, disable_numparse=True)


def _spread_decimals(values: list[float]) -> int:
    """`decimals` of the range of the finite values."""
    finite = [v for v in values if math.isfinite(v)]
    return decimals(Estimate(math.nan, min(finite), max(finite))) if finite else 1
