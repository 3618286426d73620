"""From a transaction log to the promotion envs' params (issue 17, point 5)."""

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import crm_envs  # noqa: F401
from crm_envs.envs.promotion.clv import BGBB, GammaGamma
from crm_envs.envs.promotion.presets import get_preset
from crm_envs.papers.mandania2025.transactions import (
    params_from_transactions,
    simulate_transactions,
)

TRUE = BGBB(0.6, 2.0, 0.5, 3.0)
SPEND = GammaGamma(6.0, 4.0, 15.0)


@pytest.fixture(scope="module")
def log():
    return simulate_transactions(TRUE, 30_000, 11, spend=SPEND, seed=1, later_customers=300)


@pytest.fixture(scope="module")
def fit(log):
    return params_from_transactions(log, amount="amount", commission=0.5)


def test_known_parameters_are_recovered_from_a_simulated_log(fit):
    b = fit.bgbb
    # Stated tolerances: alpha and beta within 10%, the mean dropout gamma / (gamma + delta)
    # within 20%; six months identify dropout weakly, and gamma and delta alone hardly at all
    # (they are not checked). What the envs use -- expected transactions by history and the
    # no-repeat share -- within 5%.
    np.testing.assert_allclose([b.alpha, b.beta], [TRUE.alpha, TRUE.beta], rtol=0.10)
    dropout = b.gamma / (b.gamma + b.delta)
    assert dropout == pytest.approx(TRUE.gamma / (TRUE.gamma + TRUE.delta), rel=0.20)
    for x, t in ((6, 6), (0, 0), (2, 3)):
        want = TRUE.conditional_expected_transactions(5, x, t, 6)
        assert b.conditional_expected_transactions(5, x, t, 6) == pytest.approx(want, rel=0.05)
    assert b.pmf(0, 6) == pytest.approx(TRUE.pmf(0, 6), rel=0.02)
    # Gamma-gamma on contributions = 0.5 x amounts: p and q unchanged, v halved.
    np.testing.assert_allclose([fit.spend.p, fit.spend.q, fit.spend.v],
                               [SPEND.p, SPEND.q, 0.5 * SPEND.v], rtol=0.05)  # fmt: skip


def test_cohort_windows_groups_and_holdout(fit, log):
    assert fit.cohort_size == 30_000  # the later first-time buyers are not in the cohort
    assert str(fit.cohort_month) == "2018-01"
    assert fit.group_sizes.sum() == 30_000
    assert int(fit.summary.count.sum()) == 30_000
    # The fitted model predicts the holdout (forecast window) group by group.
    big = fit.group_sizes > 1000
    np.testing.assert_allclose(fit.forecast_predicted[big], fit.forecast_observed[big],
                               rtol=0.08)  # fmt: skip


def test_params_drive_both_envs(fit):
    p = fit.params
    assert p.cohort_size == 30_000 and p.commission == 0.5
    assert p.bgbb == pytest.approx((fit.bgbb.alpha, fit.bgbb.beta, fit.bgbb.gamma,
                                    fit.bgbb.delta))  # fmt: skip
    low, mid, high = p.contributions
    assert low < mid < high
    template = get_preset("mandania2025_ferry")
    assert p.appeal == template.appeal and p.survey_preference == template.survey_preference
    for env_id in ("crm_envs/PromotionCampaign-v2", "crm_envs/PromotionBandit-v2"):
        env = gym.make(env_id, params=p)
        env.reset(seed=0)
        env.step(env.action_space.sample())


def test_csv_path_and_no_amounts_and_a_shorter_horizon(tmp_path, log):
    small = log[log["customer_id"] < 3000]
    path = tmp_path / "log.csv"
    small[["customer_id", "date"]].to_csv(path, index=False)
    fit = params_from_transactions(path, horizon=3)
    assert fit.spend is None and fit.params.horizon == 3 and len(fit.params.month_profile) == 3
    assert fit.params.contributions == get_preset("mandania2025_ferry").contributions
    assert fit.cohort_size == 3000


def _log(rows):
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


@pytest.mark.parametrize(
    "make,error,match",
    [
        (lambda log: log.iloc[:0], ValueError, "the transaction log is empty"),
        (lambda log: log.assign(date=log["date"].astype(str).where(log.index != 5, "31/02/x")),
         ValueError, "cannot read the date '31/02/x' in row 5"),
        (lambda log: log.assign(amount=log["amount"].where(log.index != 7, -3.0)), ValueError,
         "amounts must be >= 0.*row 7 has -3.0"),
        (lambda log: log.assign(amount=log["amount"].where(log.index != 2, np.nan)), ValueError,
         "amount nan in row 2 is not a finite number"),
        (lambda log: _log([(1, "2018-01-03", 10.0), (1, "2018-03-01", 12.0),
                           (2, "2018-05-01", 9.0), (2, "2019-01-01", 9.0)]), ValueError,
         "has 1 customer"),
        (lambda log: log[log["date"] < "2018-09-01"], ValueError,
         "ends in 2018-08.*up to 2018-12"),
        (lambda log: log.rename(columns={"date": "when"}), ValueError, "no column 'date'"),
        (lambda log: log.to_numpy(), TypeError, "log must be a pandas DataFrame"),
    ],
)  # fmt: skip
def test_bad_logs_get_clear_errors(log, make, error, match):
    small = log[log["customer_id"] < 200].reset_index(drop=True)
    with pytest.raises(error, match=match):
        params_from_transactions(make(small), amount="amount")


def test_missing_file_raises(tmp_path):
    with pytest.raises(ValueError, match="is not a file"):
        params_from_transactions(tmp_path / "nope.csv")
