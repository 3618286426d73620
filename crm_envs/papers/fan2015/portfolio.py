"""DCV and value of learning of a whole customer base (Fan 2015, Essay 2, 2.5, Figure 18).

Every customer's parameters come from its covariates (:mod:`crm_envs.papers.fan2015.customers`);
both planners are solved and simulated for each as in
:func:`~crm_envs.papers.fan2015.value_of_learning.value_of_learning`, customers in parallel.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from crm_envs.core.params import check_int
from crm_envs.core.rng import seed_keys
from crm_envs.envs.b2b_customer.params import B2BCustomerParams
from crm_envs.envs.b2b_customer.presets import fan2015_essay2
from crm_envs.envs.b2b_customer.solver import check_resolution
from crm_envs.papers.fan2015.customers import customer_rows
from crm_envs.papers.fan2015.value_of_learning import _checkpoints, _customer_sims_jit, _moments

__all__ = ["QUADRANTS", "PortfolioResult", "portfolio"]


def _portfolio_kernel(kp, rows, grid, n_grid, tol, max_iter, keys, checkpoints, sums, iters):
    """Every customer of ``rows`` in parallel (``keys`` is (N, n_seq))."""
    for i in prange(rows.shape[0]):
        it_p, it_h = _customer_sims_jit(
            kp, rows[i], grid, n_grid, tol, max_iter, keys[i], checkpoints, sums[i]
        )
        iters[i, 0] = it_p
        iters[i, 1] = it_h


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
        dcv_pomdp: (N,) mean DCV under the POMDP policy.
        dcv_hmm: (N,) mean DCV under the HMM policy.
        vol: (N,) value of learning.
        se_vol: (N,) its standard error.
        horizon: Months simulated.
        n_sims: Sequences per customer and policy.
        seconds: Wall time of the solve-and-simulate kernel.
    """

    dcv_pomdp: NDArray[np.float64]
    dcv_hmm: NDArray[np.float64]
    vol: NDArray[np.float64]
    se_vol: NDArray[np.float64]
    horizon: int
    n_sims: int
    seconds: float

    def quadrants(
        self, dcv_split: float | None = None, vol_split: float | None = None
    ) -> NDArray[np.str_]:
        """Figure 18's stage of each customer, splitting DCV and VOL at their medians.

        Args:
            dcv_split: DCV threshold (default: median of ``dcv_pomdp``).
            vol_split: VOL threshold (default: median of ``vol``).
        """
        d = np.median(self.dcv_pomdp) if dcv_split is None else dcv_split
        v = np.median(self.vol) if vol_split is None else vol_split
        hi_d, hi_v = self.dcv_pomdp > d, self.vol > v
        return np.array([QUADRANTS[(bool(x), bool(y))] for x, y in zip(hi_d, hi_v, strict=True)])


def portfolio(
    customers: Mapping[str, Any],
    params: B2BCustomerParams | None = None,
    horizon: int = 60,
    n_sims: int = 100,
    seed: int = 0,
    resolution: int = 40,
    progress_bar: bool = False,
) -> PortfolioResult:
    """DCV and VOL for every customer of a covariate table, in parallel (numba ``prange``).

    Each customer's parameters come from
    :func:`~crm_envs.papers.fan2015.customers.customer_rows`; both planners are solved and
    simulated as in :func:`~crm_envs.papers.fan2015.value_of_learning.value_of_learning`.
    Customer ``i``'s sequence ``j`` uses the env stream of seed ``seed + i * n_sims + j``.

    Args:
        customers: Covariate columns (dict or pandas DataFrame), see ``customers.COVARIATES``.
        params: Base parameters (default ``fan2015_essay2``).
        horizon: Months simulated (Table 6: 60).
        n_sims: Sequences per customer and policy (Fan: 100).
        seed: Seed of the first sequence.
        resolution: Belief grid points.
        progress_bar: Show a tqdm bar over chunks of customers.

    Returns:
        The :class:`PortfolioResult`.
    """
    base = fan2015_essay2() if params is None else params
    rows = customer_rows(base, customers)
    n = rows.shape[0]
    n_sims = check_int("n_sims", n_sims, low=2)
    checkpoints = _checkpoints(horizon)
    keys = seed_keys(check_int("seed", seed, low=0), n * n_sims).reshape(n, n_sims)
    sums = np.zeros((n, 1, 6))
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
                       sums[lo:hi], iters[lo:hi])  # fmt: skip
        if bar is not None:
            bar.update(hi - lo)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - start
    mean, se = _moments(sums[:, 0], n_sims)
    return PortfolioResult(mean[:, 0], mean[:, 1], mean[:, 2], se[:, 2], int(checkpoints[0]),
                           n_sims, seconds)  # fmt: skip
