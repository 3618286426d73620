"""Fan 2015, Table 3: customer covariates -> per-customer parameters."""

import numpy as np
import pytest

from crm_envs.envs.b2b_customer.presets import fan2015_essay2
from crm_envs.papers.fan2015.customers import customer_rows, for_customer, sample_customers


def test_customer_covariates_shift_the_reference_customer():
    base = fan2015_essay2()
    ref = for_customer(base)
    np.testing.assert_allclose(ref.customer_row(), base.customer_row())
    covered = for_customer(base, coverage=0.0)
    # Table 3: coverage raises the low -> high force by 0.347 and the utility by 1.572.
    assert base.low_high_intercept - covered.low_high_intercept == pytest.approx(0.347)
    assert base.utility_intercept[1] - covered.utility_intercept[1] == pytest.approx(1.572)
    media = for_customer(base, industry="media")
    np.testing.assert_allclose(media.cut_points, base.cut_points * np.exp(-0.282 + 0.142))
    rows = customer_rows(base, sample_customers(50, seed=1))
    assert rows.shape == (50, 8) and np.all(np.isfinite(rows))


@pytest.mark.parametrize(
    ("covariates", "match"),
    [({"promotion_rate": 2.0}, "promotion_rate"), ({"industry": "mining"}, "industry")],
)
def test_bad_covariates_name_the_field(covariates, match):
    with pytest.raises(ValueError, match=match):
        for_customer(fan2015_essay2(), **covariates)
