"""Fan (2015), Essay 2, sections 2.5.1-2.5.4: what the four Table 6 customers show.

The customers ``fan2015_customer_a`` .. ``_d`` are calibrated to Table 6's DCVs and VOLs
(and A to Table 5's average belief and marketing). Everything here is *not* fitted and is
checked by ``crm-bench reproduce``:

* :func:`vol_turns_positive` -- the month from which the value of learning stays positive
  (Figure 15: negative until 3-4 years, positive by the fifth);
* :func:`policy_features` -- the shape of the policy maps (Figures 13 and 17: de-marketing at
  a very low belief after a long time without a purchase, spend first rising then falling
  with the belief, the POMDP spending more than the HMM);
* :func:`table6_stages` -- Figure 18's relationship stages of the four customers;
* :func:`value_of_tracking_promotions` -- section 2.5.3 and Table 5: what a planner that does
  not use the promotion information loses (Fan: 23,631 for customer A).

All values are exact expected values (:mod:`crm_envs.envs.b2b_customer.evaluate`), not
Monte Carlo means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from crm_envs.core.params import check_int
from crm_envs.envs.b2b_customer.evaluate import PolicyValues, policy_values
from crm_envs.envs.b2b_customer.params import B2BCustomerParams
from crm_envs.envs.b2b_customer.solver import solve
from crm_envs.papers.fan2015.portfolio import QUADRANTS
from crm_envs.papers.fan2015.value_of_learning import exact_value_of_learning

__all__ = [
    "PolicyFeatures", "PromotionValue", "policy_features", "table6_stages",
    "value_of_tracking_promotions", "vol_turns_positive",
]  # fmt: skip


def _check_params(params: object) -> B2BCustomerParams:
    if not isinstance(params, B2BCustomerParams):
        raise TypeError(f"params must be B2BCustomerParams, got {type(params).__name__}")
    return params


def vol_turns_positive(params: B2BCustomerParams, max_months: int = 120) -> int | None:
    """First horizon (months) from which the exact VOL is positive at every longer horizon.

    Args:
        params: The customer.
        max_months: Longest horizon examined.

    Returns:
        The month, or None if the VOL at ``max_months`` is not positive.
    """
    _check_params(params)
    max_months = check_int("max_months", max_months, low=1)
    r = exact_value_of_learning(params, max_months)
    vol = np.cumsum((r.pomdp.reward - r.hmm.reward) * params.discount ** np.arange(max_months))
    if vol[-1] <= 0:
        return None
    negative = np.flatnonzero(vol <= 0)
    return 1 if negative.size == 0 else int(negative[-1]) + 2


@dataclass(frozen=True)
class PolicyFeatures:
    """Shape of a customer's POMDP and HMM policy maps (Figures 13 and 17).

    Attributes:
        pomdp_low_spend: POMDP spend at belief 0 and the longest TSLP.
        hmm_low_spend: HMM spend at belief 0 and the longest TSLP.
        pomdp_shape: How the POMDP spend moves with the belief at the longest TSLP:
            "rises, then falls", "rises" (never falls), "falls" or "flat".
        pomdp_mean_spend: Exact expected monthly spend of the POMDP policy over the horizon.
        hmm_mean_spend: The same for the HMM policy.
    """

    pomdp_low_spend: float
    hmm_low_spend: float
    pomdp_shape: str
    pomdp_mean_spend: float
    hmm_mean_spend: float


def _shape(spend: np.ndarray) -> str:
    d = np.diff(spend)
    up, down = bool(np.any(d > 0)), bool(np.any(d < 0))
    if up and down:
        first_up, last_down = np.flatnonzero(d > 0)[0], np.flatnonzero(d < 0)[-1]
        return "rises, then falls" if first_up < last_down else "falls, then rises"
    return "rises" if up else ("falls" if down else "flat")


def policy_features(
    params: B2BCustomerParams, months: int = 60, resolution: int = 40
) -> PolicyFeatures:
    """The policy-map features Fan describes for Figures 13 and 17, for one customer.

    Args:
        params: The customer.
        months: Horizon of the average spend (Table 5: 60).
        resolution: Belief grid points of the planners.
    """
    _check_params(params)
    r = exact_value_of_learning(params, months, resolution)
    grid = np.asarray(params.spend_grid)
    pom = solve(params, True, resolution)
    hmm = solve(params, False, resolution)
    k = params.max_tslp
    return PolicyFeatures(
        pomdp_low_spend=float(grid[pom.policy[k, 0]]),
        hmm_low_spend=float(grid[hmm.policy[k, 0]]),
        pomdp_shape=_shape(grid[pom.policy[k]]),
        pomdp_mean_spend=float(r.pomdp.spend.mean()),
        hmm_mean_spend=float(r.hmm.spend.mean()),
    )


def table6_stages(customers: Mapping[str, B2BCustomerParams], months: int = 60) -> dict[str, str]:
    """Figure 18's stage of each customer, splitting exact DCV_POMDP and VOL at their medians.

    Args:
        customers: Name -> parameters (Table 6: the four customers A-D).
        months: Horizon of the DCVs (Table 6: 60).

    Returns:
        Name -> "stranger", "acquaintance", "friend" or "best friend".
    """
    if len(customers) < 2:
        raise ValueError(f"need at least two customers to split at medians, got {len(customers)}")
    rs = {n: exact_value_of_learning(_check_params(p), months) for n, p in customers.items()}
    dcv = np.array([r.dcv_pomdp[0] for r in rs.values()])
    vol = np.array([r.vol[0] for r in rs.values()])
    d_mid, v_mid = np.median(dcv), np.median(vol)
    return {n: QUADRANTS[(bool(d > d_mid), bool(v > v_mid))]
            for n, d, v in zip(rs, dcv, vol, strict=True)}  # fmt: skip


@dataclass(frozen=True)
class PromotionValue:
    """The value of tracking promotions (Fan 2015, section 2.5.3, Table 5), exact.

    Attributes:
        full: The full POMDP planner against the true customer.
        restricted: A POMDP planner solved for the customer *without* the promotion effect,
            whose belief ignores the promotion force, played against the true customer (the
            promotions still happen and still raise the low -> high force).
        restricted_own_model: The same planner in its own model (no promotion effect in the
            dynamics either): Fan's "simulated the DCV without promotion effects" read
            literally.
        months: Horizon.
    """

    full: PolicyValues
    restricted: PolicyValues
    restricted_own_model: PolicyValues
    months: int

    @property
    def vol(self) -> float:
        """DCV of the full planner minus the restricted one, both on the true customer."""
        return self.full.dcv() - self.restricted.dcv()

    @property
    def vol_own_model(self) -> float:
        """DCV of the full planner minus the restricted one in its own model (Fan's reading)."""
        return self.full.dcv() - self.restricted_own_model.dcv()


def value_of_tracking_promotions(
    params: B2BCustomerParams, months: int = 60, resolution: int = 40
) -> PromotionValue:
    """What a planner that does not use the promotion information loses (Table 5).

    Fan generates "the optimal marketing without the promotion effects" and simulates it. The
    restricted planner here is solved for ``params`` with ``low_high_promotion = 0`` and its
    Bayes belief leaves the promotion force out. It is evaluated exactly twice: against the
    true customer (the value of the information, :attr:`PromotionValue.vol`) and in its own
    promotion-free model (Fan's wording taken literally, :attr:`PromotionValue.vol_own_model`).

    Args:
        params: The customer (Table 5: ``fan2015_customer_a``).
        months: Horizon (Table 5: 60).
        resolution: Belief grid points of the planners.
    """
    _check_params(params)
    months = check_int("months", months, low=1)
    if params.low_high_promotion == 0.0 or params.promotion_rate == 0.0:
        raise ValueError("the customer has no promotion effect (low_high_promotion or "
                         "promotion_rate is 0): there is nothing to track")  # fmt: skip
    bare = params.replace(low_high_promotion=0.0)
    restricted = solve(bare, True, resolution)
    return PromotionValue(
        full=policy_values(params, solve(params, True, resolution), months),
        restricted=policy_values(params, restricted, months, promotion_aware=False),
        restricted_own_model=policy_values(bare, restricted, months),
        months=months,
    )
