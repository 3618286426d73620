"""Fan (2015), section 2.5.3 / Table 5: the two readings of how a promotion offer enters."""

import numpy as np
import pytest

from crm_envs.envs.b2b_customer.evaluate import policy_values
from crm_envs.envs.b2b_customer.presets import get_preset
from crm_envs.envs.b2b_customer.solver import solve
from crm_envs.papers.fan2015.reproduce import table5_promotion_checks
from crm_envs.papers.fan2015.table6 import (
    PROMOTION_READINGS,
    promotion_models,
    value_of_tracking_promotions,
)

# Published: Table 3's promotion coefficient and customer A's share of purchases with an
# offer (section 2.5.3).
COEF, RATE = 2.565, 0.24


@pytest.fixture(scope="module")
def customer_a():
    return get_preset("fan2015_customer_a")


def _logit_q01(params, spend, tslp, promotion):
    q = params.transition_matrix(spend, tslp=tslp, promotion=promotion)[0, 1]
    return np.log(q / (1.0 - q))


def test_customer_a_carries_the_published_coefficient_and_rate(customer_a):
    assert customer_a.low_high_promotion == pytest.approx(COEF)
    assert customer_a.promotion_rate == pytest.approx(RATE)


def test_intercept_reading_shifts_low_high_force_by_rate_times_coefficient(customer_a):
    full, rest = promotion_models(customer_a, "intercept")
    for spend in (0.0, 50.0, 150.0):
        for tslp, promo in ((1, True), (1, False), (6, False), (24, False)):
            gap = _logit_q01(full, spend, tslp, promo) - _logit_q01(rest, spend, tslp, promo)
            assert gap == pytest.approx(RATE * COEF, abs=1e-9)
            # Nothing else moves: high -> high and the emissions are the full model's.
            high_full = full.transition_matrix(spend, tslp, promo)[1]
            np.testing.assert_array_equal(high_full, rest.transition_matrix(spend, tslp, promo)[1])
        np.testing.assert_array_equal(full.emission_matrix(spend), rest.emission_matrix(spend))
    # The intercept reading has no event: an offer does not change the full model's force.
    assert _logit_q01(full, 50.0, 1, True) == pytest.approx(_logit_q01(full, 50.0, 1, False))


def test_event_reading_differs_only_after_an_offer(customer_a):
    full, rest = promotion_models(customer_a, "event")
    assert full is customer_a
    gap = _logit_q01(full, 50.0, 1, True) - _logit_q01(rest, 50.0, 1, True)
    assert gap == pytest.approx(COEF, abs=1e-9)
    for tslp in (1, 6, 24):
        assert _logit_q01(full, 50.0, tslp, False) == _logit_q01(rest, 50.0, tslp, False)


@pytest.mark.parametrize("field", ["promotion_rate", "low_high_promotion"])
def test_readings_coincide_without_promotions(customer_a, field):
    # No offers (rate 0) or offers without effect (coefficient 0): every planner and world
    # is the same model under both readings, so every value is the same.
    params = customer_a.replace(**{field: 0.0})
    values = [value_of_tracking_promotions(params, reading=r) for r in PROMOTION_READINGS]
    ref = values[0].full.dcv()
    for v in values:
        for path in (v.full, v.restricted, v.restricted_own_model):
            assert path.dcv() == pytest.approx(ref, rel=1e-12)
            np.testing.assert_allclose(path.spend, values[0].full.spend, rtol=1e-12)
        assert v.vol == pytest.approx(0.0, abs=1e-6 * ref)


def test_intercept_full_model_is_the_event_restricted_model(customer_a):
    # Both are customer A without the event force and with its fitted intercept.
    event = value_of_tracking_promotions(customer_a, reading="event")
    intercept = value_of_tracking_promotions(customer_a, reading="intercept")
    assert intercept.full.dcv() == pytest.approx(event.restricted_own_model.dcv(), rel=1e-12)
    # A lower low -> high force every month: the customer is high less often, and the
    # restricted planner (which knows it in its own world) is worth less.
    rows = intercept.table5()
    assert rows["average_state"][1] < rows["average_state"][0]
    assert rows["dcv"][1] < rows["dcv"][0]
    assert intercept.vol_own_model == pytest.approx(rows["dcv"][0] - rows["dcv"][1])


def test_belief_shift_makes_the_belief_follow_the_planners_model(customer_a):
    # A planner solved for the restricted model (intercept lower by rho * c), its belief
    # updated with that model, and states drawn from its own predicted belief (Appendix B
    # literally) sees exactly the restricted model's purchase process: its value there equals
    # its value in its own world (for a Bayes planner the belief draw is exact).
    full, rest = promotion_models(customer_a, "intercept")
    sol = solve(rest, True)
    own = policy_values(rest, sol, 36)
    drawn = policy_values(full, sol, 36, belief_low_high_shift=-RATE * COEF,
                          state_from_belief=True)  # fmt: skip
    assert drawn.dcv() == pytest.approx(own.dcv(), rel=1e-9)
    # (The belief's logit round trip costs ~1e-8 in the belief's grid position.)
    np.testing.assert_allclose(drawn.belief, own.belief, rtol=1e-5)
    # Without the shift the belief follows the full model and the values differ.
    unshifted = policy_values(full, sol, 36, state_from_belief=True)
    assert abs(unshifted.dcv() - own.dcv()) > 1e-3 * own.dcv()


def test_belief_shift_zero_is_the_default(customer_a):
    sol = solve(customer_a, True)
    a = policy_values(customer_a, sol, 24)
    b = policy_values(customer_a, sol, 24, belief_low_high_shift=0.0)
    np.testing.assert_array_equal(a.reward, b.reward)
    with pytest.raises(ValueError):
        policy_values(customer_a, sol, 24, belief_low_high_shift=float("nan"))


def test_table5_rows_are_not_fitted(customer_a):
    prom = {r: value_of_tracking_promotions(customer_a, reading=r) for r in PROMOTION_READINGS}
    checks = table5_promotion_checks(prom)
    restricted = [c for c in checks if "without promotion info" in c.quantity
                  or "VOL from tracking" in c.quantity]  # fmt: skip
    assert len(restricted) == 4 * len(PROMOTION_READINGS)
    assert all(c.calibrated is None and c.rel_tol == 0.05 for c in restricted)
