"""Side-by-side comparison of two ways of running the default experiment, in interleaved
pairs of fresh processes (so drift in the machine's speed hits both alike): the medians of
some measures of each, their ratio, and whether every run gave the same evaluation returns.
Used by `against.py` (this tree against a git revision) and `xla_passes.py`."""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Callable

Run = Callable[[], dict]  # one run's report: its measures' inputs and `eval_returns`
Measure = Callable[[dict], float]


def compare(runs: dict[str, Run], measures: dict[str, Measure], pairs: int) -> None:
    """Print each run's measures as it ends, then the table of medians and ratios (the first
    way over the second)."""
    done: dict[str, list[dict]] = {name: [] for name in runs}
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    for _ in range(pairs):
        for name, run in runs.items():
            done[name].append(run())
            values = [round(f(done[name][-1]), 2) for f in measures.values()]
            print(f"  {name}: {values}", flush=True)
    medians = {
        name: {m: statistics.median(map(f, reports)) for m, f in measures.items()}
        for name, reports in done.items()
    }
    first, second = medians.values()
    print(f"| measure (median of {pairs}) | " + " | ".join(runs) + " | ratio |")
    print("|---|---|---|---|")
    for m in measures:
        print(f"| {m} | {first[m]:.2f} | {second[m]:.2f} | {first[m] / second[m]:.2f} |")
    returns = {json.dumps(r["eval_returns"]) for reports in done.values() for r in reports}
    print(f"evaluation returns the same in every run: {len(returns) == 1}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
