"""DCV and value of learning of a whole customer base (Fan 2015, Essay 2, 2.5, Figure 18).

Every customer's parameters come from its covariates (:mod:`crm_envs.papers.fan2015.customers`);
both planners are solved once per customer, customers in parallel, and then

* evaluated exactly (forward propagation of state, recency class and belief, as
  :func:`~crm_envs.envs.b2b_customer.evaluate.policy_values`, on a ``fine``-point belief grid),
  and
* simulated on common random numbers, as
  :func:`~crm_envs.papers.fan2015.value_of_learning.value_of_learning` (``n_sims`` sequences,
  with standard errors).

Figure 18's stages split DCV and VOL at their medians. With 100 sequences per customer the
Monte Carlo VOL of a typical customer is mostly noise (its standard error is larger than the
spread of the exact VOLs), so :meth:`PortfolioResult.quadrants` classifies by the exact VOL by
default, or by a Monte Carlo VOL that is positive at a stated confidence.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from crm_envs.core.params import check_choice, check_int, check_scalar
from crm_envs.core.rng import seed_keys
from crm_envs.envs.b2b_customer.evaluate import propagate
from crm_envs.envs.b2b_customer.params import B2BCustomerParams
from crm_envs.envs.b2b_customer.presets import fan2015_essay2
from crm_envs.envs.b2b_customer.solver import check_resolution, month_tables
from crm_envs.papers.fan2015.customers import customer_rows
from crm_envs.papers.fan2015.value_of_learning import (
    _checkpoints,
    _moments,
    _paired_sims,
    _solve_both,
)

__all__ = ["EXACT_FINE", "QUADRANTS", "PortfolioResult", "portfolio"]

EXACT_FINE = 101
"""Default belief-grid points of the portfolio's exact evaluation. Against 2,001 points it
moves a customer's VOL by a few dollars (the tests bound it), far below the Monte Carlo
standard error of 100 sequences; finer grids cost time roughly in proportion."""


def _portfolio_kernel(kp, rows, grid, n_grid, tol, max_iter, keys, checkpoints, sums, iters,
                      fine, exact):  # fmt: skip
    """Every customer of ``rows`` in parallel (``keys`` is (N, n_seq), ``exact`` (N, 2))."""
    months = checkpoints[0]
    for i in prange(rows.shape[0]):
        cust = rows[i]
        tables = month_tables(kp, cust, grid)
        pol_p, pol_h, it_p, it_h = _solve_both(kp, cust, grid, tables, n_grid, tol, max_iter)
        iters[i, 0] = it_p
        iters[i, 1] = it_h
        if keys.shape[1] > 0:
            _paired_sims(kp, cust, grid, tables, pol_p, pol_h, keys[i], checkpoints, sums[i])
        if fine > 0:
            out = np.zeros((months, 5))
            for j in range(2):
                propagate(kp, cust, grid, tables, pol_p if j == 0 else pol_h, j == 0, fine,
                          months, True, out)  # fmt: skip
                dcv = 0.0
                disc = 1.0
                for t in range(months):
                    dcv += disc * out[t, 0]
                    disc *= kp.discount
                exact[i, j] = dcv


_portfolio_jit = njit(cache=True, parallel=True)(_portfolio_kernel)


#: Figure 18's relationship stages by (DCV high?, VOL high?).
QUADRANTS = {
    (False, False): "stranger",
    (False, True): "acquaintance",
    (True, True): "friend",
    (True, False): "best friend",
}


@dataclass(frozen=True)
class PortfolioResult:
    """DCV and VOL of every customer of a base (Figure 18).

    Attributes:
        dcv_pomdp: (N,) Monte Carlo mean DCV under the POMDP policy (NaN if ``n_sims == 0``).
        dcv_hmm: (N,) the same under the HMM policy.
        vol: (N,) Monte Carlo value of learning (paired).
        se_vol: (N,) its standard error.
        exact_dcv_pomdp: (N,) exact expected DCV under the POMDP policy (NaN if not computed).
        exact_dcv_hmm: (N,) exact expected DCV under the HMM policy.
        exact_vol: (N,) exact value of learning.
        horizon: Months.
        n_sims: Sequences per customer and policy (0: no Monte Carlo).
        fine: Belief-grid points of the exact evaluation (0: not computed).
        seconds: Wall time of the solve-evaluate-simulate kernel.
    """

    dcv_pomdp: NDArray[np.float64]
    dcv_hmm: NDArray[np.float64]
    vol: NDArray[np.float64]
    se_vol: NDArray[np.float64]
    exact_dcv_pomdp: NDArray[np.float64]
    exact_dcv_hmm: NDArray[np.float64]
    exact_vol: NDArray[np.float64]
    horizon: int
    n_sims: int
    fine: int
    seconds: float

    @property
    def has_exact(self) -> bool:
        """Whether the exact values were computed."""
        return self.fine > 0

    def vol_positive(self, confidence: float = 0.95) -> NDArray[np.bool_]:
        """Customers whose Monte Carlo VOL is above 0 at ``confidence`` (one-sided z test).

        Args:
            confidence: In (0.5, 1); 0.95 means the VOL exceeds 1.645 standard errors.
        """
        from scipy.stats import norm

        if self.n_sims == 0:
            raise ValueError("no Monte Carlo VOL: the portfolio was run with n_sims=0")
        c = check_scalar("confidence", confidence, low=0.5, high=1.0, low_open=True,
                         high_open=True)  # fmt: skip
        return self.vol > norm.ppf(c) * self.se_vol

    def quadrants(
        self,
        dcv_split: float | None = None,
        vol_split: float | None = None,
        by: str = "exact",
        confidence: float = 0.95,
    ) -> NDArray[np.str_]:
        """Figure 18's stage of each customer.

        Args:
            dcv_split: DCV threshold (default: the median DCV under the POMDP policy).
            vol_split: VOL threshold (default: the median VOL); not used with ``by="confident"``.
            by: "exact" (exact DCV and VOL; the default), "monte_carlo" (the simulated means,
                Fan's way; with 100 sequences mostly noise) or "confident" (simulated DCV,
                and VOL counted high only when it is above 0 at ``confidence``,
                :meth:`vol_positive`).
            confidence: Confidence of ``by="confident"``.
        """
        by = check_choice("by", by, ["exact", "monte_carlo", "confident"])
        if by == "exact" and not self.has_exact:
            raise ValueError("no exact values: the portfolio was run with fine=0")
        if by != "exact" and self.n_sims == 0:
            raise ValueError("no Monte Carlo values: the portfolio was run with n_sims=0")
        dcv = self.exact_dcv_pomdp if by == "exact" else self.dcv_pomdp
        d = np.median(dcv) if dcv_split is None else dcv_split
        if by == "confident":
            hi_v = self.vol_positive(confidence)
        else:
            vol = self.exact_vol if by == "exact" else self.vol
            hi_v = vol > (np.median(vol) if vol_split is None else vol_split)
        hi_d = dcv > d
        return np.array([QUADRANTS[(bool(x), bool(y))] for x, y in zip(hi_d, hi_v, strict=True)])


def portfolio(
    customers: Mapping[str, Any],
    params: B2BCustomerParams | None = None,
    horizon: int = 60,
    n_sims: int = 100,
    seed: int = 0,
    resolution: int = 40,
    progress_bar: bool = False,
    fine: int = EXACT_FINE,
) -> PortfolioResult:
    """DCV and VOL for every customer of a covariate table, in parallel (numba ``prange``).

    Each customer's parameters come from
    :func:`~crm_envs.papers.fan2015.customers.customer_rows`; both planners are solved once,
    evaluated exactly as :func:`~crm_envs.envs.b2b_customer.evaluate.policy_values` (on a
    ``fine``-point belief grid) and simulated as in
    :func:`~crm_envs.papers.fan2015.value_of_learning.value_of_learning`. Customer ``i``'s
    sequence ``j`` uses the env stream of seed ``seed + i * n_sims + j``.

    Args:
        customers: Covariate columns (dict or pandas DataFrame), see ``customers.COVARIATES``.
        params: Base parameters (default ``fan2015_essay2``).
        horizon: Months simulated (Table 6: 60).
        n_sims: Sequences per customer and policy (Fan: 100; 0: no Monte Carlo).
        seed: Seed of the first sequence.
        resolution: Belief grid points.
        progress_bar: Show a tqdm bar over chunks of customers.
        fine: Belief-grid points of the exact evaluation (>= 2; 0: no exact values).

    Returns:
        The :class:`PortfolioResult`.
    """
    base = fan2015_essay2() if params is None else params
    rows = customer_rows(base, customers)
    n = rows.shape[0]
    n_sims = check_int("n_sims", n_sims, low=0)
    fine = check_int("fine", fine, low=0)
    if n_sims == 1 or fine == 1:
        raise ValueError(f"n_sims and fine must be 0 or >= 2, got n_sims={n_sims}, fine={fine}")
    if n_sims == 0 and fine == 0:
        raise ValueError("n_sims=0 and fine=0 leave nothing to compute")
    checkpoints = _checkpoints(horizon)
    if checkpoints.size != 1:
        raise ValueError(f"portfolio takes one horizon, got {checkpoints.tolist()}")
    keys = seed_keys(check_int("seed", seed, low=0), n * n_sims).reshape(n, n_sims)
    sums = np.zeros((n, 1, 6))
    exact = np.full((n, 2), np.nan)
    iters = np.zeros((n, 2), dtype=np.int64)
    kp = base.to_kernel()
    grid = np.array(base.spend_grid)
    n_grid = check_resolution(resolution)
    chunk = max(1, min(n, 2_000)) if progress_bar else n
    start = time.perf_counter()
    bar = None
    if progress_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc="customers", unit="cust")
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        _portfolio_jit(kp, rows[lo:hi], grid, n_grid, 1e-7, 100_000, keys[lo:hi], checkpoints,
                       sums[lo:hi], iters[lo:hi], fine, exact[lo:hi])  # fmt: skip
        if bar is not None:
            bar.update(hi - lo)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start
    if n_sims:
        mean, se = _moments(sums[:, 0], n_sims)
    else:
        mean, se = np.full((n, 3), np.nan), np.full((n, 3), np.nan)
    return PortfolioResult(mean[:, 0], mean[:, 1], mean[:, 2], se[:, 2], exact[:, 0],
                           exact[:, 1], exact[:, 0] - exact[:, 1], int(checkpoints[0]), n_sims,
                           fine, seconds)  # fmt: skip
