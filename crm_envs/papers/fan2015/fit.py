"""Maximum-likelihood fit of the two-state HMM from a customer x month panel (Fan 2015, 2.2.4).

The likelihood of a customer's purchase levels sums over every hidden path (section 2.2.4);
the forward algorithm computes it in O(T) per customer. It runs in numba over the whole panel,
using the model's own transition and emission functions, and scipy's L-BFGS-B maximises it
from several starts.

Which numbers are fitted: the transition intercepts (low -> high, high -> high), the two
emission utilities, the high state's error scale, the cut-point gaps after the first cut and
the initial probability of the high state. Slopes on spend, promotion, maintenance and TSLP
are taken from ``base`` (Table 3): with a panel of the paper's size they are weakly
identified, and a firm would estimate them from campaigns, not from this one panel. The first
cut point stays at ``base``'s value (Fan fixes ``mu_0 = 0``), which fixes the utility origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy.optimize import minimize

from crm_envs.core.params import check_int, check_range_array
from crm_envs.envs.b2b_customer import kernels
from crm_envs.envs.b2b_customer.params import B2BCustomerParams

__all__ = ["FitResult", "Panel", "fit_hmm", "simulate_panel"]


@dataclass(frozen=True)
class Panel:
    """Customer x month observations (every customer observed for every month).

    Attributes:
        levels: (N, T) purchase level of each month, integers in [0, L-1].
        spends: (N, T) marketing spend of each month (finite, >= 0).
        promotions: (N, T) whether the month's purchase came with a promotion offer (only
            possible in months with a purchase).
    """

    levels: NDArray[np.int64]
    spends: NDArray[np.float64]
    promotions: NDArray[np.bool_]

    def check(self, params: B2BCustomerParams) -> Panel:
        """Validate against ``params``; raises ``ValueError`` naming the field and the fix."""
        lv = np.asarray(self.levels)
        sp = np.asarray(self.spends, dtype=np.float64)
        pr = np.asarray(self.promotions)
        if lv.ndim != 2 or lv.size == 0:
            raise ValueError(
                f"levels must be a non-empty (customers, months) array, got {lv.shape}"
            )
        for name, arr in (("spends", sp), ("promotions", pr)):
            if arr.shape != lv.shape:
                raise ValueError(
                    f"{name} must have the shape of levels {lv.shape}, got {arr.shape}"
                )
        if np.issubdtype(lv.dtype, np.floating):
            if np.isnan(lv).any():
                i, t = np.argwhere(np.isnan(lv))[0]
                raise ValueError(
                    f"levels has a missing month (customer {i}, month {t}); the panel must be "
                    "complete: drop or trim customers with gaps"
                )
            if not np.all(lv == np.round(lv)):
                raise ValueError("levels must be whole numbers (purchase levels)")
        check_range_array("levels", lv, 0, params.n_levels - 1)
        if not np.all(np.isfinite(sp)):
            i, t = np.argwhere(~np.isfinite(sp))[0]
            raise ValueError(f"spends has a missing or non-finite month (customer {i}, month {t})")
        check_range_array("spends", sp, 0.0, np.inf)
        if np.any(pr.astype(bool) & (lv == 0)):
            i, t = np.argwhere(pr.astype(bool) & (lv == 0))[0]
            raise ValueError(
                f"promotions flags a month without a purchase (customer {i}, month {t}); "
                "offers come with purchases"
            )
        return Panel(lv.astype(np.int64), sp, pr.astype(np.bool_))


@njit(cache=True)
def _loglik(kp, levels, spends, promotions):
    """Sum over customers of the forward-algorithm log-likelihood."""
    n, t_max = levels.shape
    n_lev = kp.revenue.shape[0]
    cust = kp.customer
    e_low = np.empty(n_lev)
    e_high = np.empty(n_lev)
    total = 0.0
    for i in range(n):
        a0 = 1.0 - cust[kernels.C_INITIAL]
        a1 = cust[kernels.C_INITIAL]
        k = 1
        for t in range(t_max):
            m = spends[i, t]
            q01, q11p, q11m = kernels.transition_probs(kp, cust, m, k)
            q11 = kernels.q11_expected(cust, q11p, q11m)
            p1 = a0 * q01 + a1 * q11
            p0 = a0 + a1 - p1
            kernels.emission_probs(kp, cust, 0, m, e_low)
            kernels.emission_probs(kp, cust, 1, m, e_high)
            y = levels[i, t]
            a0 = p0 * e_low[y]
            a1 = p1 * e_high[y]
            s = a0 + a1
            if s <= 0.0:
                return -np.inf
            total += np.log(s)
            a0 /= s
            a1 /= s
            k = kernels.next_class(kp, k, y, promotions[i, t])
    return total


def _unpack(theta: NDArray[np.float64], base: B2BCustomerParams) -> B2BCustomerParams:
    n_gaps = base.n_levels - 2
    gaps = np.exp(theta[5 : 5 + n_gaps])
    cuts = base.cut_points[0] + np.concatenate([[0.0], np.cumsum(gaps)])
    return base.replace(
        low_high_intercept=theta[0],
        high_high_intercept=theta[1],
        utility_intercept=theta[2:4],
        utility_scale=np.array([base.utility_scale[0], np.exp(theta[4])]),
        cut_points=cuts,
        initial_high=1.0 / (1.0 + np.exp(-theta[5 + n_gaps])),
    )


def _pack(p: B2BCustomerParams) -> NDArray[np.float64]:
    init = np.clip(p.initial_high, 1e-4, 1 - 1e-4)
    return np.concatenate([
        [p.low_high_intercept, p.high_high_intercept], p.utility_intercept,
        [np.log(p.utility_scale[1])], np.log(np.diff(p.cut_points)), [np.log(init / (1 - init))],
    ])  # fmt: skip


@dataclass(frozen=True)
class FitResult:
    """The fitted parameters and the optimiser's record.

    Attributes:
        params: Fitted parameters (ready for the env: ``B2BCustomerEnv(params=...)``).
        log_likelihood: Maximised log-likelihood.
        starts: Log-likelihood reached from each start.
        n_obs: Customer-months in the panel.
    """

    params: B2BCustomerParams
    log_likelihood: float
    starts: tuple[float, ...]
    n_obs: int


def fit_hmm(
    panel: Panel, base: B2BCustomerParams | None = None, n_starts: int = 4, seed: int = 0
) -> FitResult:
    """Fit the two-state HMM to ``panel`` by maximum likelihood (see the module docstring).

    Args:
        panel: The observations.
        base: Structure and fixed slopes (default ``fan2015_essay2``).
        n_starts: Optimiser starts: ``base`` itself and ``n_starts - 1`` random perturbations.
        seed: Seed of the perturbations.

    Returns:
        The :class:`FitResult` of the best start.
    """
    from crm_envs.envs.b2b_customer.presets import fan2015_essay2

    base = fan2015_essay2() if base is None else base
    if base.n_levels < 2:
        raise ValueError("base needs at least two purchase levels")
    data = panel.check(base)
    n_starts = check_int("n_starts", n_starts, low=1)
    rng = np.random.default_rng(seed)

    def nll(theta: NDArray[np.float64]) -> float:
        try:
            kp = _unpack(theta, base).to_kernel()
        except ValueError:
            return 1e300
        ll = _loglik(kp, data.levels, data.spends, data.promotions)
        return -ll if np.isfinite(ll) else 1e300

    x0 = _pack(base)
    best: Any = None
    lls = []
    for j in range(n_starts):
        start = x0 if j == 0 else x0 + rng.normal(0.0, 0.5, x0.size)
        res = minimize(nll, start, method="L-BFGS-B")
        lls.append(-float(res.fun))
        if best is None or res.fun < best.fun:
            best = res
    return FitResult(_unpack(best.x, base), -float(best.fun), tuple(lls), int(data.levels.size))


def simulate_panel(
    params: B2BCustomerParams, n_customers: int, months: int, seed: int = 0
) -> tuple[Panel, NDArray[np.int64]]:
    """A panel drawn from the environment itself, with spends uniform over the spend grid.

    Args:
        params: The true model.
        n_customers: Customers N (Fan's data: 160).
        months: Months T (Fan's data: 66).
        seed: Seed (customer ``i`` is the env stream of ``seed + i``).

    Returns:
        The panel and the (N, T) true states after each month.
    """
    from crm_envs.envs.b2b_customer.env import B2BCustomerVectorEnv

    n = check_int("n_customers", n_customers, low=1)
    t_max = check_int("months", months, low=1)
    env = B2BCustomerVectorEnv(n, params=params, observation="purchase", horizon=t_max)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    levels = np.zeros((n, t_max), dtype=np.int64)
    spends = np.zeros((n, t_max))
    promos = np.zeros((n, t_max), dtype=np.bool_)
    states = np.zeros((n, t_max), dtype=np.int64)
    for t in range(t_max):
        a = rng.integers(0, params.n_spend, n)
        obs, _, _, _, info = env.step(a)
        levels[:, t] = obs[:, 0]
        spends[:, t] = params.spend_grid[a]
        promos[:, t] = obs[:, 2] > 0.5
        states[:, t] = info["state"]
    return Panel(levels, spends, promos), states
