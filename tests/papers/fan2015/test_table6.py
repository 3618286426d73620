"""Fan (2015), sections 2.5.1-2.5.4: what the Table 6 customers show, computed exactly."""

import numpy as np
import pytest

from crm_envs.envs.b2b_customer.presets import TABLE6, get_preset
from crm_envs.papers.fan2015.table6 import (
    _shape,
    policy_features,
    table6_stages,
    value_of_tracking_promotions,
    vol_turns_positive,
)
from crm_envs.papers.fan2015.value_of_learning import exact_value_of_learning


@pytest.fixture(scope="module")
def customer_a():
    return get_preset("fan2015_customer_a")


def test_vol_turns_positive_is_the_last_sign_change(customer_a):
    m = vol_turns_positive(customer_a, 120)
    assert m is not None and 2 <= m <= 120
    vol = exact_value_of_learning(customer_a, list(range(m - 1, 121))).vol
    assert vol[0] <= 0.0  # month m - 1
    assert np.all(vol[1:] > 0.0)  # months m .. 120


def test_average_customer_vol_is_positive_from_the_start():
    # The independent numbers: +1.87 at 12 months and positive after.
    m = vol_turns_positive(get_preset("fan2015_essay2"), 60)
    assert m is not None and m <= 12


def test_shape_of_a_spend_row():
    assert _shape(np.array([0, 10, 20, 20])) == "rises"
    assert _shape(np.array([0, 20, 10])) == "rises, then falls"
    assert _shape(np.array([20, 10, 30])) == "falls, then rises"
    assert _shape(np.array([5, 5])) == "flat"
    assert _shape(np.array([30, 20])) == "falls"


def test_policy_features_read_the_policy_tables(customer_a):
    f = policy_features(customer_a)
    grid = customer_a.spend_grid
    assert f.pomdp_low_spend in grid and f.hmm_low_spend in grid
    # Table 5's average marketing (calibrated, $10 grid): within $2 of $76.
    assert abs(f.pomdp_mean_spend - 76.0) < 2.0
    assert 0.0 <= f.hmm_mean_spend <= customer_a.max_spend


def test_table6_stages_of_the_four_customers():
    customers = {c: get_preset(f"fan2015_customer_{c.lower()}") for c in "ABCD"}
    assert table6_stages(customers) == {c: TABLE6[c]["stage"] for c in "ABCD"}
    with pytest.raises(ValueError, match="two customers"):
        table6_stages({"A": customers["A"]})


def test_tracking_promotions_pays_when_offers_move_the_customer(customer_a):
    # A customer whose offers are frequent and strong: the restricted planner misreads it.
    strong = customer_a.replace(low_high_promotion=10.0, promotion_rate=0.9)
    v = value_of_tracking_promotions(strong)
    assert v.vol > 0.05 * v.full.dcv()
    # In its own model the offers do not lift the customer at all, so it earns less there
    # than against the true customer.
    assert v.restricted_own_model.dcv() < v.restricted.dcv()
    assert v.vol_own_model > v.vol


def test_tracking_promotions_for_customer_a_is_small(customer_a):
    # Our customer A: an offer only follows a purchase, which nearly always happens in the
    # high state, so the restricted planner loses (almost) nothing. Fan's 23,631 is not
    # reached (reproduce reports it); the full planner is within grid error of the best.
    v = value_of_tracking_promotions(customer_a)
    assert abs(v.vol) < 0.01 * v.full.dcv()
    assert abs(v.vol_own_model) < 0.01 * v.full.dcv()


def test_tracking_promotions_bad_input(customer_a):
    with pytest.raises(ValueError, match="reading"):
        value_of_tracking_promotions(customer_a, reading="dummy")
    with pytest.raises(TypeError):
        value_of_tracking_promotions("fan2015_customer_a")
    with pytest.raises(ValueError):
        value_of_tracking_promotions(customer_a, months=0)
