"""fit_hmm recovery (Fan 2015, 2.2.4), the customer-base analysis and the figures."""

import matplotlib
import numpy as np
import pytest

from crm_envs.envs.b2b_customer.presets import REFERENCE, fan2015_essay2
from crm_envs.papers.fan2015.customers import for_customer, sample_customers
from crm_envs.papers.fan2015.figures import (
    plot_policy_maps,
    plot_portfolio,
    plot_sequence,
    plot_vol,
)
from crm_envs.papers.fan2015.fit import Panel, _loglik, fit_hmm, simulate_panel
from crm_envs.papers.fan2015.portfolio import QUADRANTS, portfolio
from crm_envs.papers.fan2015.value_of_learning import value_of_learning

matplotlib.use("Agg")


def _reference_probs(p):
    m, tslp = REFERENCE["spend"], REFERENCE["tslp"]
    trans = p.transition_matrix(m, tslp=tslp, promotion=False, maintenance=False)
    return trans, p.emission_matrix(m)


@pytest.mark.parametrize(
    ("customers", "tol_transition", "tol_emission"),
    # The paper's panel (160 x 66) pins the probabilities to about +-0.08; 1,000 customers
    # to about +-0.04 (the high state is visited in ~6% of months, so its row is the
    # loosest).
    [(160, 0.08, 0.10), (1000, 0.04, 0.04)],
)
def test_fit_hmm_recovers_the_truth(customers, tol_transition, tol_emission):
    truth = fan2015_essay2()
    panel, _ = simulate_panel(truth, customers, 66, seed=7)
    fit = fit_hmm(panel, n_starts=2, seed=1)
    t_fit, e_fit = _reference_probs(fit.params)
    t_true, e_true = _reference_probs(truth)
    np.testing.assert_allclose(t_fit, t_true, atol=tol_transition)
    np.testing.assert_allclose(e_fit, e_true, atol=tol_emission)
    # The maximum is at least as likely as the truth (it is a maximum).
    kp = truth.to_kernel()
    assert fit.log_likelihood >= _loglik(kp, panel.levels, panel.spends, panel.promotions) - 1e-6


def test_panel_errors_name_the_problem():
    p = fan2015_essay2()
    levels = np.zeros((2, 3))
    spends = np.zeros((2, 3))
    promos = np.zeros((2, 3), dtype=bool)
    bad = levels.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="missing month"):
        Panel(bad, spends, promos).check(p)
    bad = levels.copy()
    bad[0, 0] = 7
    with pytest.raises(ValueError, match="levels must lie in"):
        Panel(bad, spends, promos).check(p)
    with pytest.raises(ValueError, match="shape of levels"):
        Panel(levels, spends[:, :2], promos).check(p)
    flags = promos.copy()
    flags[0, 1] = True
    with pytest.raises(ValueError, match="without a purchase"):
        Panel(levels, spends, flags).check(p)


def test_portfolio_matches_value_of_learning_per_customer():
    table = sample_customers(4, seed=2)
    res = portfolio(table, n_sims=20, horizon=24, seed=0)
    assert res.vol.shape == (4,) and set(res.quadrants()) <= set(QUADRANTS.values())
    one = {k: v[2] for k, v in table.items()}
    alone = value_of_learning(for_customer(fan2015_essay2(), **one), horizon=24, n_sims=20,
                              seed=2 * 20)  # fmt: skip
    assert res.dcv_pomdp[2] == pytest.approx(alone.dcv_pomdp[0], rel=1e-9)
    assert res.vol[2] == pytest.approx(alone.vol[0], rel=1e-9, abs=1e-6)


def test_each_figure_is_one_call(tmp_path):
    p = fan2015_essay2()
    figs = [
        plot_policy_maps(p),
        plot_sequence(p, months=36, seed=1),
        plot_vol(value_of_learning(p, horizon=[12, 36], n_sims=10)),
        plot_portfolio(portfolio(sample_customers(12), n_sims=5, horizon=12)),
    ]
    for i, fig in enumerate(figs):
        fig.savefig(tmp_path / f"fig{i}.png")
        assert (tmp_path / f"fig{i}.png").stat().st_size > 5_000


def test_portfolio_exact_values_are_each_customers_exact_evaluation():
    from crm_envs.envs.b2b_customer.evaluate import policy_values
    from crm_envs.envs.b2b_customer.solver import solve

    table = sample_customers(3, seed=5)
    res = portfolio(table, n_sims=0, horizon=36, fine=101)
    assert np.all(np.isnan(res.vol)) and res.n_sims == 0
    for i in range(3):
        p = for_customer(fan2015_essay2(), **{k: v[i] for k, v in table.items()})
        dp = policy_values(p, solve(p, True), 36, fine=101).dcv()
        dh = policy_values(p, solve(p, False), 36, fine=101).dcv()
        assert res.exact_dcv_pomdp[i] == pytest.approx(dp, rel=1e-9)
        assert res.exact_vol[i] == pytest.approx(dp - dh, rel=1e-6, abs=1e-6)


def test_portfolio_coarse_exact_grid_is_close_to_a_fine_one():
    table = sample_customers(6, seed=7)
    coarse = portfolio(table, n_sims=0, fine=101)
    fine = portfolio(table, n_sims=0, fine=2001)
    assert np.max(np.abs(coarse.exact_vol - fine.exact_vol)) < 10.0  # dollars over 60 months
    assert np.allclose(coarse.exact_dcv_pomdp, fine.exact_dcv_pomdp, rtol=1e-3)


def test_portfolio_monte_carlo_agrees_with_the_exact_vol():
    # With many sequences; with few, most paired differences are exactly 0 and a rare large
    # one decides the mean, so the standard error is unreliable (the README says so).
    res = portfolio(sample_customers(10, seed=3), n_sims=2000, horizon=24, seed=1)
    z = (res.vol - res.exact_vol) / res.se_vol
    assert np.all(np.abs(z) < 4.0), z


def test_portfolio_stage_classifications():
    res = portfolio(sample_customers(30, seed=4), n_sims=10, horizon=24)
    for by in ("exact", "monte_carlo", "confident"):
        assert set(res.quadrants(by=by)) <= set(QUADRANTS.values())
    # "confident": VOL high only where the simulated VOL clears 1.645 s.e. of 0.
    high = np.isin(res.quadrants(by="confident"), ["friend", "acquaintance"])
    assert np.array_equal(high, res.vol > 1.6448536269514722 * res.se_vol)
    # Exact VOL split at its median: half the customers (even count) are high.
    high_exact = np.isin(res.quadrants(), ["friend", "acquaintance"])
    assert high_exact.sum() == 15
    with pytest.raises(ValueError, match="by"):
        res.quadrants(by="noise")
    with pytest.raises(ValueError, match="confidence"):
        res.vol_positive(1.0)
    only_mc = portfolio(sample_customers(4), n_sims=4, horizon=12, fine=0)
    with pytest.raises(ValueError, match="fine=0"):
        only_mc.quadrants()
    with pytest.raises(ValueError, match="nothing to compute"):
        portfolio(sample_customers(4), n_sims=0, fine=0)
    with pytest.raises(ValueError, match="0 or >= 2"):
        portfolio(sample_customers(4), n_sims=1)
