"""Parameters of the B2B customer-relationship POMDP (Fan 2015, Essay 2, section 2.2).

Relationship state s in {0 = low, 1 = high}. With monthly spend ``m`` and TSLP ``tau``:

* transition forces (binary logits, Table 3 structure):
  ``P(low -> high) = logistic(lh0 + lh1 m + lh2 m^2 + lh_promo PROMO + lh_tslp ln tau)`` and
  ``P(high -> high) = logistic(hh0 + hh1 m + hh2 m^2 + hh_maint MAINT + hh_tslp ln tau)``;
* emissions (ordered logit over purchase levels 0..L-1, section 2.2.2): latent utility
  ``u_s(m) = a_s + c1_s m + c2_s m^2 + c3_s ln(1 + m)`` with logistic error of scale
  ``sigma_s``; ``P(level > l) = logistic((u_s(m) - mu_l) / sigma_s)`` for cut points
  ``mu_0 < ... < mu_{L-2}``;
* reward: revenue of the purchase level minus ``spend_cost * m``.

Slopes are given per unit of spend (Essay 2's "marketing/10" coefficients are divided by 10
in the preset). The customer-specific parts (intercepts, promotion and maintenance rates,
initial belief) are fields too; :mod:`crm_envs.papers.fan2015.customers` maps a customer's
covariates to them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crm_envs.core.params import check_array, check_int, check_prob, check_scalar
from crm_envs.envs.b2b_customer import kernels
from crm_envs.envs.b2b_customer.kernels import B2BKernelParams

__all__ = ["B2BCustomerParams", "check_increasing"]


def check_increasing(name: str, arr: NDArray[np.float64]) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``arr`` is strictly increasing."""
    bad = np.flatnonzero(np.diff(arr) <= 0)
    if bad.size:
        j = int(bad[0])
        raise ValueError(
            f"{name} must be strictly increasing; entry {j + 1} ({arr[j + 1]}) does not exceed "
            f"entry {j} ({arr[j]})"
        )


_PAIRS = ("utility_intercept", "utility_spend", "utility_spend_sq", "utility_log_spend")
_SCALARS = (
    "low_high_intercept", "low_high_spend", "low_high_spend_sq", "low_high_promotion",
    "low_high_log_tslp", "high_high_intercept", "high_high_spend", "high_high_spend_sq",
    "high_high_maintenance", "high_high_log_tslp",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True, eq=False)
class B2BCustomerParams:
    """Every number of one B2B customer's relationship model.

    Attributes:
        spend_grid: (K,) strictly increasing, non-negative monthly spend levels (the discrete
            actions; the continuous action space ``[-1, 1]`` maps to ``[0, spend_grid[-1]]``).
        spend_cost: Cost of one unit of spend (1 for dollars; 0 in Essay 1's example).
        revenue: (L,) revenue of each purchase level (L >= 2; level 0 is no purchase).
        cut_points: (L-1,) strictly increasing ordered-logit cut points.
        utility_intercept: (2,) emission utility intercept, low and high state.
        utility_spend: (2,) emission utility slope on spend.
        utility_spend_sq: (2,) emission utility slope on spend squared.
        utility_log_spend: (2,) emission utility slope on ln(1 + spend).
        utility_scale: (2,) scale of the logistic emission error (> 0).
        low_high_intercept: Low -> high transition force intercept.
        low_high_spend: Low -> high slope on spend.
        low_high_spend_sq: Low -> high slope on spend squared.
        low_high_promotion: Low -> high force of a promotion offer with last month's purchase.
        low_high_log_tslp: Low -> high slope on ln(TSLP).
        high_high_intercept: High -> high transition force intercept.
        high_high_spend: High -> high slope on spend.
        high_high_spend_sq: High -> high slope on spend squared.
        high_high_maintenance: High -> high force of a maintenance interaction that month.
        high_high_log_tslp: High -> high slope on ln(TSLP).
        promotion_rate: Probability in [0, 1] that a purchase comes with a promotion offer.
        maintenance_rate: Probability in [0, 1] of a maintenance interaction in a month.
        initial_high: Probability in [0, 1] that the customer starts in the high state.
        max_tslp: Largest time since last purchase in months (TSLP stays there), >= 1.
        discount: Monthly discount factor of the planner, in [0, 1).
    """

    spend_grid: NDArray[np.float64]
    spend_cost: float = 1.0
    revenue: NDArray[np.float64]
    cut_points: NDArray[np.float64]
    utility_intercept: NDArray[np.float64]
    utility_spend: NDArray[np.float64] | float = 0.0
    utility_spend_sq: NDArray[np.float64] | float = 0.0
    utility_log_spend: NDArray[np.float64] | float = 0.0
    utility_scale: NDArray[np.float64] | float = 1.0
    low_high_intercept: float
    low_high_spend: float = 0.0
    low_high_spend_sq: float = 0.0
    low_high_promotion: float = 0.0
    low_high_log_tslp: float = 0.0
    high_high_intercept: float
    high_high_spend: float = 0.0
    high_high_spend_sq: float = 0.0
    high_high_maintenance: float = 0.0
    high_high_log_tslp: float = 0.0
    promotion_rate: float = 0.0
    maintenance_rate: float = 0.0
    initial_high: float = 0.0
    max_tslp: int = 24
    discount: float = 0.99

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        grid = check_array("spend_grid", self.spend_grid, shape=(None,))
        if grid.size == 0 or grid[0] < 0:
            raise ValueError(f"spend_grid must be non-empty and non-negative, got {grid}")
        check_increasing("spend_grid", grid)
        set_(self, "spend_grid", grid)
        set_(self, "spend_cost", check_scalar("spend_cost", self.spend_cost, low=0.0))
        rev = check_array("revenue", self.revenue, shape=(None,))
        if rev.size < 2:
            raise ValueError(f"revenue needs at least 2 purchase levels, got {rev.size}")
        set_(self, "revenue", rev)
        cuts = check_array("cut_points", self.cut_points, shape=(rev.size - 1,))
        check_increasing("cut_points", cuts)
        set_(self, "cut_points", cuts)
        for name in (*_PAIRS, "utility_scale"):
            value = np.broadcast_to(np.asarray(getattr(self, name), dtype=float), (2,))
            set_(self, name, check_array(name, value, shape=(2,)))
        if np.any(self.utility_scale <= 0):
            raise ValueError(f"utility_scale must be > 0 in both states, got {self.utility_scale}")
        for name in _SCALARS:
            set_(self, name, check_scalar(name, getattr(self, name)))
        for name in ("promotion_rate", "maintenance_rate", "initial_high"):
            set_(self, name, check_prob(name, getattr(self, name)))
        set_(self, "max_tslp", check_int("max_tslp", self.max_tslp, low=1))
        set_(self, "discount", check_scalar("discount", self.discount, low=0.0, high=1.0,
                                            high_open=True))  # fmt: skip

    @property
    def n_levels(self) -> int:
        """Number of purchase levels L."""
        return int(self.revenue.size)

    @property
    def n_spend(self) -> int:
        """Number of spend levels K."""
        return int(self.spend_grid.size)

    @property
    def max_spend(self) -> float:
        """Largest spend."""
        return float(self.spend_grid[-1])

    def replace(self, **changes: Any) -> B2BCustomerParams:
        """A copy with ``changes`` applied (validated again)."""
        return replace(self, **changes)

    def customer_row(self) -> NDArray[np.float64]:
        """The (8,) customer row of the kernels (cut scale 1: ``cut_points`` are final)."""
        row = np.zeros(kernels.CUSTOMER_WIDTH)
        row[kernels.C_LOW_HIGH] = self.low_high_intercept
        row[kernels.C_HIGH_HIGH] = self.high_high_intercept
        row[kernels.C_UTIL_LOW] = self.utility_intercept[0]
        row[kernels.C_UTIL_HIGH] = self.utility_intercept[1]
        row[kernels.C_CUT_SCALE] = 1.0
        row[kernels.C_PROMO] = self.promotion_rate
        row[kernels.C_MAINT] = self.maintenance_rate
        row[kernels.C_INITIAL] = self.initial_high
        return row

    def to_kernel(self, horizon: int = 1, obs_mode: int = 1) -> B2BKernelParams:
        """The ``B2BKernelParams`` of this customer.

        Args:
            horizon: Months per episode.
            obs_mode: 0 purchase, 1 belief, 2 state observations.
        """
        return B2BKernelParams(
            revenue=np.array(self.revenue), spend_cost=self.spend_cost,
            max_spend=self.max_spend, cut_points=np.array(self.cut_points),
            u_spend=np.array(self.utility_spend), u_spend_sq=np.array(self.utility_spend_sq),
            u_log_spend=np.array(self.utility_log_spend), u_scale=np.array(self.utility_scale),
            lh_spend=self.low_high_spend, lh_spend_sq=self.low_high_spend_sq,
            lh_promo=self.low_high_promotion, lh_log_tslp=self.low_high_log_tslp,
            hh_spend=self.high_high_spend, hh_spend_sq=self.high_high_spend_sq,
            hh_maint=self.high_high_maintenance, hh_log_tslp=self.high_high_log_tslp,
            max_tslp=self.max_tslp, customer=self.customer_row(), horizon=int(horizon),
            obs_mode=int(obs_mode), discount=self.discount,
        )  # fmt: skip

    def transition_matrix(
        self, spend: float, tslp: int = 1, promotion: bool = False, maintenance: bool | None = None
    ) -> NDArray[np.float64]:
        """2x2 transition matrix ``P[s, s']`` for one month.

        Args:
            spend: Monthly spend (>= 0).
            tslp: Time since last purchase in months, 1..max_tslp.
            promotion: Whether last month's purchase came with a promotion offer (needs
                ``tslp == 1``).
            maintenance: Maintenance interaction this month (True/False), or None for the
                planner's average at ``maintenance_rate``.
        """
        spend = check_scalar("spend", spend, low=0.0)
        tslp = check_int("tslp", tslp, low=1, high=self.max_tslp)
        if promotion and tslp != 1:
            raise ValueError(f"a promotion offer comes with a purchase, so tslp must be 1; "
                             f"got tslp={tslp}")  # fmt: skip
        k = 0 if promotion else tslp
        q01, q11p, q11m = kernels.transition_probs(self.to_kernel(), self.customer_row(), spend, k)
        if maintenance is None:
            q11 = kernels.q11_expected(self.customer_row(), q11p, q11m)
        else:
            q11 = q11m if maintenance else q11p
        return np.array([[1.0 - q01, q01], [1.0 - q11, q11]])

    def emission_matrix(self, spend: float) -> NDArray[np.float64]:
        """(2, L) purchase-level probabilities ``O[s, level]`` at monthly spend ``spend``."""
        spend = check_scalar("spend", spend, low=0.0)
        out = np.empty((2, self.n_levels))
        kp, row = self.to_kernel(), self.customer_row()
        for s in (0, 1):
            kernels.emission_probs(kp, row, s, spend, out[s])
        return out
