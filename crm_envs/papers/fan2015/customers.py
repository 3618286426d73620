"""Customer heterogeneity: covariates -> per-customer parameters (Fan 2015, Table 3).

A customer is described by the covariates of Essay 2's HMM: service coverage, industry,
customer (user) count, new-customer flag, industry inter-purchase time, and the observed
promotion and maintenance rates plus the initial belief. Table 3's coefficients shift the
preset's intercepts relative to the :data:`~crm_envs.envs.b2b_customer.presets.REFERENCE`
customer, at which the preset reproduces Table 4:

* low -> high force: ``+ 0.347 coverage - 0.123 inter-purchase time + 0.197 new customer``;
* emission utility (both states): ``+ 0.133 customer count + 1.572 coverage``;
* cut points scale by ``exp(industry shift)`` (Table 3's cut-off function);
* the rates and the initial belief are the customer's own.

Units not published by Fan are ours: ``customer_count`` is in standard deviations from the
reference customer, ``industry_interpurchase`` in months. The mapping is meaningful for the
``fan2015_essay2`` preset (or params built on the same Table 3 slopes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crm_envs.core.params import check_choice, check_range_array
from crm_envs.envs.b2b_customer import kernels
from crm_envs.envs.b2b_customer.params import B2BCustomerParams
from crm_envs.envs.b2b_customer.presets import INDUSTRY_CUTS, REFERENCE, TABLE3

__all__ = ["COVARIATES", "customer_rows", "for_customer", "sample_customers"]

#: Covariate columns a customer table may hold (missing ones take the reference value).
COVARIATES = (
    "coverage", "industry", "customer_count", "new_customer", "industry_interpurchase",
    "promotion_rate", "maintenance_rate", "initial_high",
)  # fmt: skip

_PROBABILITIES = ("coverage", "new_customer", "promotion_rate", "maintenance_rate", "initial_high")


def _columns(table: Mapping[str, Any]) -> tuple[dict[str, NDArray[Any]], int]:
    cols = {str(c): table[c] for c in table.keys()}  # dicts and pandas DataFrames alike
    unknown = sorted(set(cols) - set(COVARIATES))
    if unknown:
        raise ValueError(f"unknown customer covariate(s) {unknown}; allowed: {list(COVARIATES)}")
    sizes = {len(np.atleast_1d(np.asarray(v))) for v in cols.values()}
    if len(sizes) > 1:
        raise ValueError(f"customer covariate columns differ in length: {sorted(sizes)}")
    n = sizes.pop() if sizes else 1
    out: dict[str, NDArray[Any]] = {}
    for name in COVARIATES:
        raw = cols.get(name, [REFERENCE[name]] * n)
        arr = np.atleast_1d(np.asarray(raw, dtype=object if name == "industry" else float))
        if name == "industry":
            for v in arr:
                check_choice("industry", str(v).lower(), list(INDUSTRY_CUTS))
            arr = np.array([INDUSTRY_CUTS[str(v).lower()] for v in arr])
        elif not np.all(np.isfinite(arr)):
            bad = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise ValueError(f"{name} must be finite; customer {bad} has {arr[bad]}")
        if name in _PROBABILITIES:
            check_range_array(name, arr, 0.0, 1.0)
        out[name] = arr
    return out, n


def customer_rows(params: B2BCustomerParams, table: Mapping[str, Any]) -> NDArray[np.float64]:
    """Kernel customer rows (N, 8) for a table of covariates (dict of columns or DataFrame).

    Args:
        params: The base parameters (the reference customer), normally ``fan2015_essay2``.
        table: Columns named as in :data:`COVARIATES`; missing columns take the reference value.

    Returns:
        One row per customer (see :mod:`crm_envs.envs.b2b_customer.kernels`).
    """
    c, n = _columns(table)
    ref = REFERENCE
    lh, em = TABLE3["low_high"], TABLE3["emission"]
    rows = np.zeros((n, kernels.CUSTOMER_WIDTH))
    rows[:, kernels.C_LOW_HIGH] = (
        params.low_high_intercept
        + lh["coverage"] * (c["coverage"] - ref["coverage"])
        + lh["industry_interpurchase"]
        * (c["industry_interpurchase"] - ref["industry_interpurchase"])
        + lh["new_customer"] * (c["new_customer"] - ref["new_customer"])
    )  # fmt: skip
    rows[:, kernels.C_HIGH_HIGH] = params.high_high_intercept
    shift = em["customer_count"] * (c["customer_count"] - ref["customer_count"])
    shift += em["coverage"] * (c["coverage"] - ref["coverage"])
    rows[:, kernels.C_UTIL_LOW] = params.utility_intercept[0] + shift
    rows[:, kernels.C_UTIL_HIGH] = params.utility_intercept[1] + shift
    rows[:, kernels.C_CUT_SCALE] = np.exp(c["industry"] - INDUSTRY_CUTS[ref["industry"]])
    rows[:, kernels.C_PROMO] = c["promotion_rate"]
    rows[:, kernels.C_MAINT] = c["maintenance_rate"]
    rows[:, kernels.C_INITIAL] = c["initial_high"]
    return rows


def for_customer(params: B2BCustomerParams, **covariates: Any) -> B2BCustomerParams:
    """The parameters of one customer with the given covariates (others at the reference).

    Example: ``for_customer(fan2015_essay2(), coverage=0, industry="media")``.
    """
    row = customer_rows(params, {k: [v] for k, v in covariates.items()})[0]
    return params.replace(
        low_high_intercept=row[kernels.C_LOW_HIGH],
        high_high_intercept=row[kernels.C_HIGH_HIGH],
        utility_intercept=row[[kernels.C_UTIL_LOW, kernels.C_UTIL_HIGH]],
        cut_points=params.cut_points * row[kernels.C_CUT_SCALE],
        promotion_rate=row[kernels.C_PROMO],
        maintenance_rate=row[kernels.C_MAINT],
        initial_high=row[kernels.C_INITIAL],
    )


def sample_customers(n: int, seed: int = 0) -> dict[str, NDArray[Any]]:
    """A synthetic customer base of ``n`` heterogeneous customers (covariate columns).

    Fan does not publish the covariate distribution; ours (an assumption, for demos and
    benchmarks): coverage ~ Bernoulli(0.6); industry uniform over Table 3's eight and
    "other"; customer count ~ N(0, 1); new customer ~ Bernoulli(0.3); inter-purchase time
    ~ Uniform(3, 12) months; promotion rate ~ Beta(2, 6) (mean 0.25, Customer A has 0.24);
    maintenance rate ~ Beta(1.5, 12); initial belief 0.545 for the 14.5% contacted before
    their first purchase and 0 otherwise (section 2.4.1: 0.145 x 0.545 = Table 4's 0.079).

    Args:
        n: Number of customers.
        seed: Seed of the draw.

    Returns:
        A dict of covariate columns, accepted by :func:`customer_rows` and
        :func:`~crm_envs.papers.fan2015.portfolio.portfolio`.
    """
    rng = np.random.default_rng(seed)
    industries = np.array(list(INDUSTRY_CUTS))
    return {
        "coverage": rng.binomial(1, 0.6, n).astype(float),
        "industry": industries[rng.integers(0, industries.size, n)],
        "customer_count": rng.normal(0.0, 1.0, n),
        "new_customer": rng.binomial(1, 0.3, n).astype(float),
        "industry_interpurchase": rng.uniform(3.0, 12.0, n),
        "promotion_rate": rng.beta(2.0, 6.0, n),
        "maintenance_rate": rng.beta(1.5, 12.0, n),
        "initial_high": np.where(rng.random(n) < 0.145, 0.545, 0.0),
    }
