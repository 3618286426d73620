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
  not use the promotion information loses (Fan: 23,631 for customer A), under two readings of
  how an offer enters the model (:func:`promotion_models`).

All values are exact expected values (:mod:`crm_envs.envs.b2b_customer.evaluate`), not
Monte Carlo means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from crm_envs.core.params import check_choice, check_int
from crm_envs.envs.b2b_customer.evaluate import PolicyValues, policy_values
from crm_envs.envs.b2b_customer.params import B2BCustomerParams
from crm_envs.envs.b2b_customer.solver import solve
from crm_envs.papers.fan2015.portfolio import QUADRANTS
from crm_envs.papers.fan2015.value_of_learning import exact_value_of_learning

__all__ = [
    "PROMOTION_READINGS", "PolicyFeatures", "PromotionValue", "policy_features",
    "promotion_models", "table6_stages", "value_of_tracking_promotions", "vol_turns_positive",
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


#: Readings of how a promotion offer enters Fan's model, for :func:`value_of_tracking_promotions`.
PROMOTION_READINGS = ("event", "intercept")


def promotion_models(
    params: B2BCustomerParams, reading: str = "event"
) -> tuple[B2BCustomerParams, B2BCustomerParams]:
    """The full and the promotion-free ("restricted") customer model under a reading.

    * ``"event"`` (the env's model; Appendix B step 7): an offer comes with a purchase at the
      customer's rate ``rho`` and adds the coefficient ``c`` (Table 3: 2.565) to the next
      month's low -> high force. Full: ``params``. Restricted: the same with ``c = 0``, so the
      two differ only in the month after a purchase with an offer.
    * ``"intercept"`` (section 2.4.4): promotions are not modelled as events; the expected
      share of purchases with an offer times ``c`` is part of the low -> high intercept every
      month. ``params``' low -> high intercept was fitted to the full model's published
      numbers, so under this reading it is read as *containing* ``rho * c`` (a fit of the
      intercept reading sets only the total intercept, and switching the event force off moves
      customer A's DCV by 0.3%). Full: ``params`` without the event force (its intercept
      every month). Restricted: that model with the intercept lowered by ``rho * c``. The two
      differ by exactly ``rho * c`` in the low -> high logit in every month and recency class.

    Args:
        params: The customer.
        reading: One of :data:`PROMOTION_READINGS`.

    Returns:
        ``(full, restricted)``.
    """
    _check_params(params)
    reading = check_choice("reading", reading, PROMOTION_READINGS)
    bare = params.replace(low_high_promotion=0.0)
    if reading == "event":
        return params, bare
    shift = params.promotion_rate * params.low_high_promotion
    return bare, bare.replace(low_high_intercept=params.low_high_intercept - shift)


@dataclass(frozen=True)
class PromotionValue:
    """The value of tracking promotions (Fan 2015, section 2.5.3, Table 5), exact.

    Which models are compared is set by the reading (:func:`promotion_models`).

    Attributes:
        full: The full model's POMDP planner in the full model's world.
        restricted: The restricted planner (solved for the promotion-free model, its Bayes
            belief following that model) played against the full model's world: what ignoring
            promotions costs the firm when the customer does respond to them.
        restricted_own_model: The same planner in its own promotion-free world. This is
            Table 5's "adaptive learning without promotion info" column: Fan simulated the
            restricted planner's DCV without promotion effects.
        months: Horizon.
        reading: The reading (:data:`PROMOTION_READINGS`).
    """

    full: PolicyValues
    restricted: PolicyValues
    restricted_own_model: PolicyValues
    months: int
    reading: str = "event"

    @property
    def vol(self) -> float:
        """DCV of the full planner minus the restricted one, both in the full model's world."""
        return self.full.dcv() - self.restricted.dcv()

    @property
    def vol_own_model(self) -> float:
        """DCV of the full planner minus the restricted one in its own world (Table 5)."""
        return self.full.dcv() - self.restricted_own_model.dcv()

    def table5(self) -> dict[str, tuple[float, float]]:
        """Table 5's rows as ``(full model, without promotion info)``.

        The average state is the mean decision belief over the months (the reading under
        which customer A's 0.11425 is calibrated), the average marketing the mean spend, and
        the DCV the discounted value; the restricted column is
        :attr:`restricted_own_model`.
        """
        f, r = self.full, self.restricted_own_model
        return {
            "average_state": (float(f.belief.mean()), float(r.belief.mean())),
            "average_marketing": (float(f.spend.mean()), float(r.spend.mean())),
            "dcv": (f.dcv(), r.dcv()),
        }


def value_of_tracking_promotions(
    params: B2BCustomerParams, months: int = 60, resolution: int = 40, reading: str = "event"
) -> PromotionValue:
    """What a planner that does not use the promotion information loses (Table 5).

    Fan (2015, section 2.5.3) solves "the optimal marketing without the promotion effects" and
    simulates its DCV "without promotion effects". Here the full and the restricted planner
    are POMDP planners solved for :func:`promotion_models`' full and restricted model of the
    chosen reading, evaluated exactly (:func:`~crm_envs.envs.b2b_customer.evaluate.policy_values`)
    over ``months``:

    * ``full``: the full planner in the full model;
    * ``restricted_own_model``: the restricted planner in the restricted model, Table 5's
      "without promotion info" column (Fan's wording);
    * ``restricted``: the restricted planner in the full model, its belief following its own
      model (event reading: the belief leaves the force of an offer out; intercept reading:
      the belief's low -> high intercept is ``rho * c`` lower every month).

    Under the event reading (the env's model, our default) customer A's offers come almost
    only with purchases in the high state, so tracking them is worth little; under the
    intercept reading the restricted model is a customer who is less likely to move up every
    month, and the difference is mostly that customer's lower value, not information.
    With ``promotion_rate`` or ``low_high_promotion`` 0 both readings compare a model with
    itself and every value is the same.

    Args:
        params: The customer (Table 5: ``fan2015_customer_a``).
        months: Horizon (Table 5: 60).
        resolution: Belief grid points of the planners.
        reading: One of :data:`PROMOTION_READINGS` (default ``"event"``, the env's model).
    """
    full_m, rest_m = promotion_models(params, reading)
    months = check_int("months", months, low=1)
    restricted = solve(rest_m, True, resolution)
    if reading == "event":
        against_full = policy_values(params, restricted, months, promotion_aware=False)
    else:
        shift = rest_m.low_high_intercept - full_m.low_high_intercept
        against_full = policy_values(full_m, restricted, months, belief_low_high_shift=shift)
    return PromotionValue(
        full=policy_values(full_m, solve(full_m, True, resolution), months),
        restricted=against_full,
        restricted_own_model=policy_values(rest_m, restricted, months),
        months=months,
        reading=reading,
    )
