"""The report's statistics on known inputs, and against scipy's reference implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlexp.sweeps import statistics as st
from rlexp.sweeps.tables import decimals


def test_identical_seeds_give_a_zero_width_interval():
    s = st.summarize([200.0] * 5, threshold=475.0)
    for e in (s.mean, s.median, s.iqm):
        assert (e.value, e.low, e.high) == (200.0, 200.0, 200.0)
    assert (s.optimality_gap.low, s.optimality_gap.high) == (275.0, 275.0)


def test_better_on_every_seed_gives_probability_of_improvement_one():
    p = st.probability_of_improvement([300, 310, 320, 330], [100, 150, 200, 290])
    assert (p.value, p.low, p.high) == (1.0, 1.0, 1.0)
    q = st.probability_of_improvement([100, 150, 200, 290], [300, 310, 320, 330])
    assert (q.value, q.low, q.high) == (0.0, 0.0, 0.0)


def test_ties_count_half():
    assert st.probability_of_improvement([1, 2], [1, 2]).value == 0.5


def test_intervals_never_leave_the_observed_range():
    values = [0.0, 0.0, 500.0, 12.0]  # skewed: a Student-t interval would go below 0
    s = st.summarize(values, threshold=475.0)
    for e in (s.mean, s.median, s.iqm):
        assert 0.0 <= e.low <= e.value <= e.high <= 500.0
    assert 0.0 <= s.optimality_gap.low <= s.optimality_gap.high <= 475.0


def test_one_seed_has_no_interval_and_none_has_no_value():
    one = st.summarize([42.0])
    assert one.mean.value == 42.0 and not one.mean.has_interval
    assert math.isnan(st.summarize([]).iqm.value)


def test_iqm_is_scipys_trimmed_mean():
    from scipy.stats import trim_mean

    rng = np.random.default_rng(1)
    for n in (2, 3, 4, 5, 7, 10):
        x = rng.normal(size=n)
        assert st.iqm(x) == pytest.approx(trim_mean(x, 0.25))
    assert st.iqm(np.array([1.0, 2.0, 3.0, 100.0])) == 2.5  # not the mean (26.5)


def test_bootstrap_interval_matches_scipy_percentile_bootstrap():
    from scipy.stats import bootstrap

    x = np.random.default_rng(2).normal(100, 30, size=10)
    ours = st.estimate(x, st.mean)
    ref = bootstrap(
        (x,), np.mean, n_resamples=20000, method="percentile", random_state=np.random.default_rng(3)
    ).confidence_interval
    width = ref.high - ref.low
    assert ours.low == pytest.approx(ref.low, abs=0.1 * width)
    assert ours.high == pytest.approx(ref.high, abs=0.1 * width)


def test_best_only_when_the_interval_excludes_one_half():
    clear = [[300, 310, 320, 330, 340], [100, 110, 120, 130, 140]]
    ranking = st.rank(clear, [st.summarize(v) for v in clear])
    assert ranking.best == 0 and ranking.tied == []
    assert ranking.improvement[1].low > 0.5

    overlapping = [[100, 300], [90, 290]]
    ranking = st.rank(overlapping, [st.summarize(v) for v in overlapping])
    assert ranking.leader == 0 and ranking.best is None
    assert ranking.tied == [0, 1]


def test_curve_band_is_the_iqm_over_seeds_inside_the_data():
    matrix = np.array([[0, 10, 20], [0, 12, 30], [0, 14, 40], [0, 100, 50.0]])
    point, low, high = st.band(matrix)
    assert point == pytest.approx([0, 13, 35])
    assert (low <= point).all() and (point <= high).all()
    assert (low >= matrix.min(axis=0)).all() and (high <= matrix.max(axis=0)).all()
    assert (low[0], high[0]) == (0, 0)


def test_rounding_follows_the_interval_width():
    assert decimals(st.Estimate(223.4, 200.0, 245.0)) == 0
    assert decimals(st.Estimate(0.5, 0.41, 0.57)) == 2
    assert decimals(st.Estimate(3.0, 3.0, 3.0)) == 1


def test_an_interval_ending_at_infinity_rounds_by_its_finite_part():
    assert decimals(st.Estimate(2200.0, 2066.7, math.inf)) == 0
    assert decimals(st.Estimate(math.inf, 500.0, math.inf)) == 1


def test_lower_is_better_ranking_leads_with_the_lowest_iqm():
    times = [[3000, 3100, 3200, 3300, 3400], [1000, 1100, 1200, 1300, 1400]]
    ranking = st.rank(times, [st.summarize(v) for v in times], lower=True)
    assert ranking.best == 1
    p = ranking.improvement[0]  # P(a run of the leader is faster)
    assert (p.value, p.low, p.high) == (1.0, 1.0, 1.0)


def test_never_solved_counts_as_infinitely_slow():
    """Solving 1 of 5 quickly is worse than solving 5 of 5 a bit slower."""
    lucky, steady = [500, math.inf, math.inf, math.inf, math.inf], [2000, 2100, 2200, 2300, 2400]
    summaries = [st.summarize(v) for v in (lucky, steady)]
    assert (summaries[0].n, summaries[0].iqm.value, summaries[0].median.value) == (
        5,
        math.inf,
        math.inf,
    )
    ranking = st.rank([lucky, steady], summaries, lower=True)
    assert ranking.leader == 1
    assert ranking.improvement[0].value == pytest.approx(0.8)


def test_never_solved_against_never_solved_is_a_tie():
    assert st.probability_of_improvement([-math.inf, -math.inf], [-math.inf, -5.0]).value == 0.25


def test_intervals_with_infinite_values_are_not_nan():
    low, high = st.percentile_interval(np.array([1.0, 2.0, np.inf] * 100))
    assert (low, high) == (1.0, np.inf)
    s = st.summarize([1000, 1200, math.inf, math.inf, 1100, 1300])
    for e in (s.mean, s.median, s.iqm):
        assert not any(map(math.isnan, (e.value, e.low, e.high)))
        assert e.has_interval and 1000 <= e.low <= e.value <= e.high == math.inf
    assert s.n == 6 and s.iqm.value == math.inf


@pytest.mark.parametrize("n", [2, 3, 4])
def test_complete_separation_with_few_seeds_is_not_best(n):
    """Every resample of a complete separation gives P = 1, so the interval is [1, 1] for
    any n; with 3 seeds against 3 an exact Mann-Whitney test gives only p = 0.1."""
    separated = [[300.0 + i for i in range(n)], [100.0 + i for i in range(n)]]
    ranking = st.rank(separated, [st.summarize(v) for v in separated])
    assert ranking.leader == 0 and ranking.tied == []
    assert ranking.improvement[1].low == 1.0
    assert ranking.best is None and ranking.few == [0, 1]


def test_few_seeds_in_one_compared_configuration_is_enough_to_call_none_best():
    groups = [[300, 310, 320, 330, 340], [100, 110, 120]]
    ranking = st.rank(groups, [st.summarize(v) for v in groups])
    assert ranking.best is None and ranking.few == [1]


def test_a_single_configuration_is_never_best():
    only = [[300, 310, 320, 330, 340]]
    ranking = st.rank(only, [st.summarize(v) for v in only])
    assert ranking.leader == 0 and ranking.best is None
