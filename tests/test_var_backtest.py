"""VaR and ES backtests: the likelihood ratios against hand-computed closed forms and a sequence-walking reference,
their size under the null and power against the alternatives they are built for, and every error message."""

from __future__ import annotations

import math
import re
from itertools import pairwise

import numpy as np
import pytest
from scipy.stats import chi2, norm

from latentquant.evaluation.var_backtest import (
    acerbi_szekely_z2,
    christoffersen_independence,
    conditional_coverage,
    draws_var_backtest,
    kupiec_pof,
    sample_var_backtest,
    var_backtest,
    var_es_by_day,
    var_hits,
)
from latentquant.exceptions import ConfigError, DataValidationError


def _markov_loglik(h: np.ndarray, first_order: bool) -> float:
    """Log-likelihood of ``h[1:]`` given ``h[0]`` at the MLE, walking the sequence (a reference independent of the
    transition-count formula)."""
    if not first_order:
        pi = h[1:].mean()
        return sum(math.log(pi if x else 1 - pi) for x in h[1:] if (pi if x else 1 - pi) > 0)
    counts = {(a, b): 0 for a in (0, 1) for b in (0, 1)}
    for a, b in pairwise(h):
        counts[(int(a), int(b))] += 1
    ll = 0.0
    for a, b in pairwise(h):
        row = counts[(int(a), 0)] + counts[(int(a), 1)]
        ll += math.log(counts[(int(a), int(b))] / row)
    return ll


def test_kupiec_matches_the_closed_form():
    n, x, p = 250, 5, 0.01
    h = np.r_[np.ones(x), np.zeros(n - x)].astype(bool)
    expected = -2 * ((n - x) * math.log(1 - p) + x * math.log(p)) + 2 * ((n - x) * math.log(1 - x / n)
                                                                        + x * math.log(x / n))
    out = kupiec_pof(h, p)
    assert out.statistic == pytest.approx(expected, rel=1e-12) and expected == pytest.approx(1.9568, abs=1e-4)
    assert out.pvalue == pytest.approx(chi2.sf(expected, 1), rel=1e-12)
    assert (out.n, out.hits, out.dof) == (250, 5, 1)
    # no hits and only hits: 0 ln 0 = 0
    assert kupiec_pof(np.zeros(300, bool), 0.01).statistic == pytest.approx(-2 * 300 * math.log(0.99))
    assert kupiec_pof(np.ones(4, bool), 0.05).statistic == pytest.approx(-2 * 4 * math.log(0.05))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_christoffersen_matches_a_sequence_walking_reference(seed):
    rng = np.random.default_rng(seed)
    h = rng.random(400) < 0.08
    h[100:104] = True  # some clustering so that both rows of the transition matrix are populated
    expected = 2 * (_markov_loglik(h, True) - _markov_loglik(h, False))
    out = christoffersen_independence(h)
    assert out.statistic == pytest.approx(expected, abs=1e-9)  # a difference of log-likelihoods near -100
    assert out.pvalue == pytest.approx(chi2.sf(expected, 1), abs=1e-8)
    cc = conditional_coverage(h, 0.05)
    assert cc.statistic == pytest.approx(kupiec_pof(h, 0.05).statistic + expected, abs=1e-9)
    assert cc.dof == 2 and cc.pvalue == pytest.approx(chi2.sf(cc.statistic, 2), rel=1e-10)


def test_independence_without_repeated_hits_is_finite():
    h = np.zeros(50, bool)
    h[[5, 20, 49]] = True  # no hit follows a hit; the last hit has no successor
    out = christoffersen_independence(h)
    assert np.isfinite(out.statistic) and 0 <= out.pvalue <= 1
    assert christoffersen_independence(np.zeros(10, bool)).statistic == 0.0


def test_size_under_the_null_and_power_against_clustering():
    rng = np.random.default_rng(0)
    null = rng.random((1000, 500)) < 0.05
    pof = np.mean([kupiec_pof(h, 0.05).pvalue < 0.05 for h in null])
    ind = np.mean([christoffersen_independence(h).pvalue < 0.05 for h in null])
    assert 0.02 <= pof <= 0.09
    assert 0.01 <= ind <= 0.09
    # a Markov hit process with P(hit | hit) = 0.3 against P(hit | quiet) = 0.03
    clustered = np.zeros((200, 1000), bool)
    u = rng.random((200, 1000))
    for t in range(1, 1000):
        clustered[:, t] = u[:, t] < np.where(clustered[:, t - 1], 0.3, 0.03)
    assert np.mean([christoffersen_independence(h).pvalue < 0.05 for h in clustered]) > 0.8


def test_z2_is_zero_when_the_tail_losses_equal_the_es():
    es, var, p = 0.03, 0.02, 0.05
    r = np.full(100, 0.001)
    r[:5] = -es  # 5 = T·p hits, each exactly the ES
    draws = np.random.default_rng(0).normal(0, 0.01, (200, 100))
    assert acerbi_szekely_z2(r, var, es, p, draws).z2 == pytest.approx(0.0, abs=1e-12)


def test_z2_size_and_power():
    rng = np.random.default_rng(3)
    p, n = 0.025, 500
    var, es = -norm.ppf(p), norm.pdf(norm.ppf(p)) / p  # N(0, 1)
    null_draws = rng.standard_normal((400, n))
    right = [acerbi_szekely_z2(rng.standard_normal(n), var, es, p, null_draws).pvalue for _ in range(200)]
    assert 0.01 <= np.mean(np.array(right) < 0.05) <= 0.10
    under = [acerbi_szekely_z2(1.5 * rng.standard_normal(n), var, es, p, null_draws) for _ in range(50)]
    assert np.mean([t.pvalue < 0.05 for t in under]) > 0.9
    assert np.mean([t.z2 for t in under]) < -0.3


def test_var_backtest_combines_the_tests_and_round_trips_to_dict():
    rng = np.random.default_rng(0)
    r = rng.standard_normal(750)
    bt = var_backtest(r, 1.645, p=0.05, es=2.063, null_draws=rng.standard_normal((300, 750)))
    hits = var_hits(r, 1.645)
    assert bt.hits == hits.sum() and bt.n == 750 and bt.hit_rate == pytest.approx(hits.mean())
    assert bt.pof_lr == pytest.approx(kupiec_pof(hits, 0.05).statistic)
    assert bt.cc_pvalue == pytest.approx(conditional_coverage(hits, 0.05).pvalue)
    assert bt.z2 is not None and bt.z2_pvalue is not None
    d = bt.to_dict()
    assert set(d) >= {"pof_pvalue", "ind_pvalue", "cc_pvalue", "z2", "z2_pvalue"}
    assert bt.summary().startswith(f"{bt.hits} hits in 750 days")
    assert var_hits([-0.03, -0.01, 0.02], [0.02, 0.02, 0.02]).tolist() == [True, False, False]


def test_forecasts_given_as_draws_and_static_samples():
    rng = np.random.default_rng(5)
    scale = np.repeat([0.01, 0.03], 400)  # a volatility regime the draws know and a static sample does not
    returns = rng.standard_normal(800) * scale
    draws = rng.standard_normal((4000, 800)) * scale
    var, es = var_es_by_day(draws, 0.05)
    # the N(0, 1) 5% quantile and ES, up to the sampling error of 4,000 draws (about 2% per day)
    assert np.mean(var / scale) == pytest.approx(1.645, rel=0.01) and np.allclose(var / scale, 1.645, rtol=0.12)
    assert np.mean(es / scale) == pytest.approx(norm.pdf(1.645) / 0.05, rel=0.01)
    bt, var2, _ = draws_var_backtest(returns, draws, p=0.05, seed=0)
    np.testing.assert_array_equal(var, var2)
    assert bt.cc_pvalue > 0.05 and bt.z2_pvalue > 0.05
    static_var = sample_var_backtest(returns, draws[:, ::7], p=0.05, seed=0)  # the pooled draws: right on average
    assert abs(static_var.hit_rate - 0.05) < 0.02
    # but a static VaR's hits all fall in the volatile half, the daily forecasts' in both
    volatile = scale > 0.02
    static_hits = var_hits(returns, float(np.quantile(draws[:, ::7], 0.05)) * -1)
    assert static_hits[volatile].sum() > 0.9 * static_hits.sum()
    assert 0.3 < var_hits(returns, var)[volatile].sum() / bt.hits < 0.7
    with pytest.raises(DataValidationError, match="draws have 799 days but returns 800"):
        draws_var_backtest(returns, draws[:, 1:], p=0.05)
    with pytest.raises(DataValidationError, match=r"draws must be a finite \(n_draws, n_days\) array"):
        var_es_by_day(np.ones(5), 0.05)


def test_z2_p_value_is_the_monte_carlo_one_and_never_zero():
    rng = np.random.default_rng(0)
    draws = rng.standard_normal((199, 300))
    crash = np.full(300, 0.1)
    crash[:15] = -8.0  # far beyond anything the null draws produce
    out = acerbi_szekely_z2(crash, 1.645, 2.063, 0.05, draws)
    assert out.pvalue == pytest.approx(1 / 200)  # (1 + 0) / (m + 1)


def test_static_backtests_refuse_samples_that_are_not_returns():
    prices = np.random.default_rng(0).random(2000)  # e.g. min-max scaled levels: the 1% quantile is above 0
    with pytest.raises(DataValidationError, match=r"the 0.01-quantile of sample is .* >= 0, so its VaR is not a loss"):
        sample_var_backtest(np.zeros(100), prices, p=0.01)
    with pytest.raises(DataValidationError, match="the 0.05-quantile of the draws of day 0 is >= 0"):
        draws_var_backtest(np.zeros(3), np.random.default_rng(1).random((50, 3)), p=0.05)
    with pytest.raises(ConfigError, match="p"):
        sample_var_backtest(np.zeros(100), np.random.default_rng(1).normal(size=500), p=0.7)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: kupiec_pof([True, False], 1.5), ConfigError, "p"),
    (lambda: kupiec_pof([0, 2, 1], 0.01), DataValidationError, "hits must be booleans"),
    (lambda: kupiec_pof([], 0.01), DataValidationError, "non-empty 1-D sequence"),
    (lambda: christoffersen_independence([True]), DataValidationError, "at least 2 days"),
    (lambda: var_hits([0.1, np.nan], 0.02), DataValidationError, "returns holds NaN"),
    (lambda: var_hits([0.1, 0.2], [0.02]), DataValidationError, "var has 1 values but returns have 2"),
    (lambda: var_hits([0.1, 0.2], -0.02), DataValidationError, "pass VaR as a positive loss"),
    (lambda: acerbi_szekely_z2(np.zeros(5), 0.02, 0.01, 0.05, np.zeros((100, 5))), DataValidationError,
     "es >= var"),
    (lambda: acerbi_szekely_z2(np.zeros(5), 0.02, 0.03, 0.05, np.zeros((10, 5))), DataValidationError,
     "null_draws must be shaped (m, 5) with m >= 100"),
    (lambda: var_backtest(np.zeros(5), 0.02, es=0.03), DataValidationError, "needs both es= and null_draws="),
])
def test_error_messages(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()

