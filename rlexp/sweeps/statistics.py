"""Interval estimates for few-seed RL results, after Agarwal et al. 2021 ("Deep RL at the
Edge of the Statistical Precipice", the rliable library).

Each configuration is one task, so rliable's stratified bootstrap (resample runs within each
task) is the plain bootstrap over its seeds with rliable's default percentile interval.
The point estimates are rliable's definitions: IQM is the 25%-trimmed mean (as
`scipy.stats.trim_mean`), the optimality gap is the mean shortfall below the threshold, the
probability of improvement P(X > Y) is the Mann-Whitney U statistic over all seed pairs
(ties count half).

Neither rliable nor scipy.stats is imported: `rlexp report` must answer in under 2 s, and
importing rliable's bootstrap (arch, statsmodels) takes 3 s and scipy.stats 1 s of CPU
alone; rliable 1.2.0 also fails to import with pandas 3. The resampling is numpy's, a few
vectorized lines; tests/test_report_statistics.py checks it against scipy.stats.bootstrap.

Every interval is clipped to what the statistic can take on the observed data: the range of
the seeds for mean, median and IQM; [0, 1] for a probability.

Values may be infinite (for a time-to-solve metric, a run that never solved is +inf): an
infinity sorts beyond every finite value, a mean or IQM with enough of them is infinite,
and two equal infinities tie in P(X > Y). NaN values (no result) are left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 2000
MIN_SEEDS = 5  # fewer per configuration: the report warns and calls none best (rliable's advice)


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% bootstrap interval (NaN bounds: no interval)."""

    value: float
    low: float
    high: float

    @property
    def has_interval(self) -> bool:
        return not (math.isnan(self.low) or math.isnan(self.high))

    def excludes(self, x: float) -> bool:
        return self.has_interval and (self.low > x or self.high < x)


NO_ESTIMATE = Estimate(math.nan, math.nan, math.nan)


def iqm(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50%, `int(n/4)` values cut from each end
    (rliable's `aggregate_iqm`, scipy's `trim_mean(x, 0.25)`)."""
    x = np.sort(np.moveaxis(np.asarray(x, dtype=float), axis, -1), axis=-1)
    cut = int(0.25 * x.shape[-1])
    return np.mean(x[..., cut : x.shape[-1] - cut], axis=-1)


def resample(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RESAMPLES bootstrap samples of the rows of `x` (seeds first): (RESAMPLES, *x.shape)."""
    return x[rng.integers(0, x.shape[0], (RESAMPLES, x.shape[0]))]


def percentile_interval(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The central CONFIDENCE interval of bootstrap statistics (first axis: resamples).

    Interpolating next to an infinite statistic gives NaN (inf - inf, inf * 0), so where
    any is infinite the ends are the order statistics just outside the interval instead:
    a slightly wider interval, never a narrower one."""
    tail = (1 - CONFIDENCE) / 2 * 100
    if np.isfinite(samples).all():
        low, high = np.percentile(samples, [tail, 100 - tail], axis=0)
        return low, high
    low = np.percentile(samples, tail, axis=0, method="lower")
    return low, np.percentile(samples, 100 - tail, axis=0, method="higher")


def mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def median(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(x, axis=axis)


def optimality_gap(threshold: float) -> Callable[..., np.ndarray]:
    """Mean shortfall below `threshold` (rliable's `aggregate_optimality_gap`, gamma=threshold)."""

    def gap(x: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(threshold - np.minimum(x, threshold), axis=axis)

    return gap


def improvement(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """P(X > Y): the share of seed pairs where x beats y, ties counting half."""
    x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
    wins = x[..., :, None] > y[..., None, :]
    ties = x[..., :, None] == y[..., None, :]
    return np.mean(wins + 0.5 * ties, axis=(-2, -1))


def _observed(values) -> np.ndarray:
    """The values as floats without NaN (runs without a result); infinities stay."""
    array = np.asarray(values, dtype=float)
    return array[~np.isnan(array)]


def estimate(values, statistic: Callable[..., np.ndarray], seed: int = 0, bounds=None) -> Estimate:
    """`statistic` of the seeds' `values` with its percentile-bootstrap interval, clipped
    to `bounds` (default: the observed range). One value: no interval; none: NaN."""
    x = _observed(values)
    if x.size == 0:
        return NO_ESTIMATE
    point = float(statistic(x))
    if x.size < 2:
        return Estimate(point, math.nan, math.nan)
    low, high = (x.min(), x.max()) if bounds is None else bounds
    if x.min() == x.max():
        return Estimate(point, point, point)  # scipy would warn about a degenerate sample
    ci_low, ci_high = percentile_interval(statistic(resample(x, np.random.default_rng(seed))))
    return Estimate(point, float(np.clip(ci_low, low, high)), float(np.clip(ci_high, low, high)))


def probability_of_improvement(x_values, y_values, seed: int = 0) -> Estimate:
    """P(X > Y) with its interval, X and Y resampled independently (stratified)."""
    x, y = _observed(x_values), _observed(y_values)
    if x.size == 0 or y.size == 0:
        return NO_ESTIMATE
    point = float(improvement(x, y))
    if x.size < 2 or y.size < 2:
        return Estimate(point, math.nan, math.nan)
    if x.min() == x.max() and y.min() == y.max():
        return Estimate(point, point, point)
    rng = np.random.default_rng(seed)
    low, high = percentile_interval(improvement(resample(x, rng), resample(y, rng)))
    return Estimate(point, float(np.clip(low, 0, 1)), float(np.clip(high, 0, 1)))


@dataclass(frozen=True)
class Summary:
    """One configuration's statistics of one metric."""

    n: int
    mean: Estimate
    median: Estimate
    iqm: Estimate
    optimality_gap: Estimate


def summarize(values, threshold: float | None = None, seed: int = 0) -> Summary:
    x = _observed(values)
    gap = NO_ESTIMATE
    if threshold is not None and math.isfinite(threshold):
        shortfall = np.maximum(threshold - x, 0)
        bounds = (float(shortfall.min()), float(shortfall.max())) if x.size else None
        gap = estimate(x, optimality_gap(threshold), seed, bounds)
    return Summary(
        n=int(x.size),
        mean=estimate(x, mean, seed),
        median=estimate(x, median, seed),
        iqm=estimate(x, iqm, seed),
        optimality_gap=gap,
    )


@dataclass(frozen=True)
class Ranking:
    """The leader by IQM and, per other configuration, P(leader better than it)."""

    leader: int | None
    improvement: dict[int, Estimate]
    tied: list[int]  # configurations whose P(leader better) interval holds 0.5 (+ the leader)
    few: list[int]  # configurations (the leader too) with fewer than MIN_SEEDS seeds: a
    # configuration without a result (0 seeds) is one, since nothing says the leader beats it

    @property
    def best(self) -> int | None:
        """The leader only when it was compared with another configuration, every
        configuration (it too) has MIN_SEEDS seeds, and it beats each with confidence. With
        fewer seeds a complete separation (every leader seed better) makes every resample 1 and the
        interval [1, 1] whatever the evidence: 3 against 3 seeds is p = 0.1 in an exact
        Mann-Whitney test."""
        if self.leader is None or not self.improvement or self.tied or self.few:
            return None
        return self.leader


def rank(groups: list, summaries: list[Summary], seed: int = 0, lower: bool = False) -> Ranking:
    """Rank configurations (`groups`: each a sequence of seed values, one per seed) by IQM:
    the highest leads, or with `lower` the lowest, and P(leader better) is then P(X < Y)."""
    scored = [i for i, s in enumerate(summaries) if not math.isnan(s.iqm.value)]
    if not scored:
        return Ranking(None, {}, [], [])
    sign = -1.0 if lower else 1.0
    leader = max(scored, key=lambda i: sign * summaries[i].iqm.value)
    poi = {
        i: probability_of_improvement(
            sign * np.asarray(groups[leader], dtype=float),
            sign * np.asarray(groups[i], dtype=float),
            seed,
        )
        for i in scored
        if i != leader
    }
    tied = [i for i, p in poi.items() if not p.excludes(0.5)]
    few = [i for i, s in enumerate(summaries) if s.n < MIN_SEEDS]
    return Ranking(leader, poi, [leader, *tied] if tied else [], few)


def band(matrix: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IQM over the seeds (rows) at each column of a seeds x grid matrix with no gaps, and
    its bootstrap band (the same resampled seeds for the whole curve)."""
    matrix = np.asarray(matrix, dtype=float)
    point = iqm(matrix, axis=0)
    if matrix.shape[0] < 2:
        return point, point.copy(), point.copy()
    low, high = percentile_interval(iqm(resample(matrix, np.random.default_rng(seed)), axis=1))
    floor, ceiling = matrix.min(axis=0), matrix.max(axis=0)
    return point, np.clip(low, floor, ceiling), np.clip(high, floor, ceiling)
