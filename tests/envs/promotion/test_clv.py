"""BG/BB and gamma-gamma: closed forms against Monte Carlo, parameter recovery, bad input."""

import numpy as np
import pytest

from crm_envs.envs.promotion.clv import (
    BGBB,
    GammaGamma,
    RFMSummary,
    fit_bgbb,
    fit_gamma_gamma,
    rfm_summary,
)

TRUE = BGBB(1.204, 0.750, 0.657, 2.783)  # Fader, Hardie & Shang (2010), donations


@pytest.fixture(scope="module")
def panel():
    purchases = TRUE.sample(200_000, 11, seed=7)
    return purchases[:, :6], purchases[:, 6:]


def test_rfm_summary_counts_and_recency():
    m = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 1], [1, 0, 0]])
    s = rfm_summary(m)
    rows = {(int(x), int(t)): int(c) for x, t, c in zip(s.x, s.t_x, s.count, strict=True)}
    assert rows == {(0, 0): 1, (1, 1): 2, (2, 3): 1}
    assert (s.n == 3).all()


def test_pmf_sums_to_one_and_matches_simulation(panel):
    cal, _ = panel
    pmf = TRUE.pmf(np.arange(7), 6)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    freq = np.bincount(cal.sum(axis=1), minlength=7) / len(cal)
    np.testing.assert_allclose(pmf, freq, atol=0.004)
    assert TRUE.expected_transactions(6) == pytest.approx(cal.sum(axis=1).mean(), rel=0.01)
    assert TRUE.expected_transactions(6) == pytest.approx(np.arange(7) @ pmf, rel=1e-10)


@pytest.mark.parametrize("x,t_x", [(0, 0), (1, 1), (3, 5), (6, 6)])
def test_conditional_expectation_and_p_alive_match_simulation(panel, x, t_x):
    cal, hold = panel
    freq = cal.sum(axis=1)
    last = np.where(freq > 0, 6 - np.argmax(cal[:, ::-1], axis=1), 0)
    sel = (freq == x) & (last == t_x)
    assert sel.sum() > 2000
    future = hold[sel].sum(axis=1)
    se = future.std() / np.sqrt(sel.sum())
    expected = TRUE.conditional_expected_transactions(5, x, t_x, 6)
    assert abs(future.mean() - expected) < 4 * se + 1e-3
    # Alive at period 7 <=> a purchase in 7..11 is possible; check P(any purchase in 7).
    p7 = TRUE.conditional_expected_transactions(1, x, t_x, 6)
    assert abs(hold[sel, 0].mean() - p7) < 4 * np.sqrt(p7 / sel.sum()) + 1e-3
    assert 0 < TRUE.p_alive(x, t_x, 6) <= 1


@pytest.mark.parametrize("x,t_x", [(0, 0), (1, 2), (2, 4), (3, 6)])
def test_purchase_propensity_of_alive_and_lapsed_customers_matches_simulation(x, t_x):
    rng = np.random.default_rng(11)
    n_cust = 300_000
    p = rng.beta(TRUE.alpha, TRUE.beta, n_cust)
    death = rng.geometric(rng.beta(TRUE.gamma, TRUE.delta, n_cust))
    buys = (np.arange(1, 7)[None, :] < death[:, None]) & (rng.random((n_cust, 6)) < p[:, None])
    freq = buys.sum(axis=1)
    last = np.where(freq > 0, 6 - np.argmax(buys[:, ::-1], axis=1), 0)
    sel = (freq == x) & (last == t_x)
    alive = 7 < death  # still alive at opportunity n + 1 = 7
    want_alive, want_lapsed = TRUE.purchase_propensity(x, t_x, 6)
    assert want_alive == pytest.approx((TRUE.alpha + x) / (TRUE.alpha + TRUE.beta + 6))
    for group, want in ((sel & alive, want_alive), (sel & ~alive, want_lapsed)):
        if group.sum() < 500:  # (3, 6): hardly anyone active in the last month has lapsed
            continue
        se = p[group].std() / np.sqrt(group.sum())
        assert abs(p[group].mean() - want) < 4 * se


def test_likelihood_sums_to_one_over_all_histories():
    total = float(np.exp(TRUE.log_likelihood(0, 0, 5)))
    from scipy.special import comb

    for x in range(1, 6):
        for t in range(x, 6):
            total += comb(t - 1, x - 1) * float(np.exp(TRUE.log_likelihood(x, t, 5)))
    assert total == pytest.approx(1.0, abs=1e-12)


def test_maximum_likelihood_recovers_parameters(panel):
    cal, _ = panel
    fit = fit_bgbb(rfm_summary(cal))
    np.testing.assert_allclose(
        [fit.alpha, fit.beta, fit.gamma, fit.delta],
        [TRUE.alpha, TRUE.beta, TRUE.gamma, TRUE.delta],
        rtol=0.12,
    )


def test_gamma_gamma_recovery_and_conditional_mean():
    true = GammaGamma(6.25, 3.74, 15.44)
    rng = np.random.default_rng(3)
    x = rng.integers(1, 8, 40_000)
    m = true.sample(x, seed=4)
    fit = fit_gamma_gamma(x, m)
    np.testing.assert_allclose([fit.p, fit.q, fit.v], [true.p, true.q, true.v], rtol=0.12)
    # E[value | x, m_x] is a credibility-weighted mean: between the population mean and m_x.
    pop = true.p * true.v / (true.q - 1)
    e = true.conditional_expected_value(3, 50.0)
    assert min(pop, 50.0) < e < max(pop, 50.0)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"x": [-1], "t_x": [0], "n": [6]}, "non-negative"),
        ({"x": [7], "t_x": [7], "n": [6]}, "must not exceed the periods"),
        ({"x": [2], "t_x": [1], "n": [6]}, "recency t_x >= x"),
        ({"x": [0], "t_x": [3], "n": [6]}, "exactly when"),
        ({"x": [1], "t_x": [1], "n": [6], "count": [-2]}, "count must be finite and >= 0"),
    ],
)
def test_bad_summaries_raise(kwargs, match):
    kwargs.setdefault("count", [1.0])
    with pytest.raises(ValueError, match=match):
        RFMSummary(**kwargs)


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="alpha must be a positive"):
        BGBB(0.0, 1, 1, 1)
    with pytest.raises(ValueError, match="q must be a positive"):
        GammaGamma(1, -1, 1)
    with pytest.raises(ValueError, match="only 0 and 1"):
        rfm_summary(np.array([[0, 2]]))


def test_fits_refuse_data_they_cannot_fit():
    # Issue 13: fit_bgbb without customers returned its starting values as if fitted, and
    # fit_gamma_gamma on empty or NaN data blamed a parameter v.
    empty = RFMSummary(x=[1], t_x=[1], n=[6], count=[0.0])
    with pytest.raises(ValueError, match="fit_bgbb needs at least one customer"):
        fit_bgbb(empty)
    with pytest.raises(TypeError, match="summary must be an RFMSummary"):
        fit_bgbb(np.zeros((3, 6)))
    with pytest.raises(ValueError, match="at least one customer"):
        fit_gamma_gamma([], [])
    with pytest.raises(ValueError, match=r"m_x must be finite, found nan at index \(1,\)"):
        fit_gamma_gamma([1, 2], [10.0, np.nan])
    with pytest.raises(ValueError, match="one entry per customer"):
        fit_gamma_gamma([1, 2], [10.0])
    with pytest.raises(ValueError, match="customer 0 has x = 0"):
        fit_gamma_gamma([0, 2], [10.0, 12.0])
    with pytest.raises(ValueError, match="customer 1 has m_x = -3"):
        fit_gamma_gamma([1, 2], [10.0, -3.0])
