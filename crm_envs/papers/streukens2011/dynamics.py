"""Customer monetary value dynamics: the paper's forms against the env's (Table 4, Eq. 6).

Streukens et al. (2011, section 3.4) estimate a dynamic panel model with the *change* of CMV
as the dependent variable. Eq. 6 and Table 4 disagree on the lags:

* Eq. 6: ``dCMV_t = g1 CMV_(t-2) + g2 QUAN_(t-1) + size, type and REL terms``;
* Table 4: ``CMV_(t-1)`` 0.30 and ``QUAN_(t-2)`` 0.64, size dummies 1,652 and 6,929, product
  types not significant, no REL row and no intercept.

Taken literally, either form is explosive: moving ``CMV_(t-1)`` to the right-hand side gives
``CMV_t = 1.30 CMV_(t-1) + 0.64 QUAN_(t-2) + ...`` (Table 4) or ``CMV_t = CMV_(t-1) + 0.30
CMV_(t-2) + 0.64 QUAN_(t-1) + ...`` (Eq. 6). With purchases tracking CMV (``QUAN = CMV``) the
largest roots are 1.68 and 1.81 per quarter; even with purchases held fixed they are 1.30
and 1.24. A CMV that grows 1.68-fold a quarter (about 500-fold in 12 quarters) cannot be the
paper's model of a quarter's customer value, so the env does not use it.

The env reads Table 4 as the *level* equation of Appendix A (Eq. A1.3, ``y_t = delta
y_(t-1) + x_t' beta + u_t``), which Baltagi's first-difference estimator with ``CMV_(t-2)`` as
instrument (the paper's stated method) estimates: ``CMV_t - mu = 0.30 (CMV_(t-1) - mu) + 0.64
(CMV_(t-2) - mu) + shock``, with QUAN two quarters back standing in for CMV two quarters back.
The size dummies, the customers' random effects and the missing intercept are constant over
time, so in the aggregate they only set the long-run mean ``mu``, which Table 5 calibrates;
REL has no estimate and the product types none that is significant. The shock (5% of ``mu``)
is our choice: the paper reports R² = 0.54 but no residual variance. This module computes the
readings' roots and paths, and draws the CMV paths the env produces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crm_envs.core.params import check_int
from crm_envs.envs.roi_allocation.params import ROIAllocationParams

__all__ = [
    "READINGS",
    "CMVReading",
    "env_cmv_paths",
    "plot_cmv_paths",
    "reading_path",
    "spectral_radius",
]

TABLE4 = {"CMV lag": 0.30, "QUAN lag": 0.64, "SIZE1": 1_652.0, "SIZE2": 6_929.0}
"""Table 4 of Streukens et al. (2011): the significant coefficients."""


@dataclass(frozen=True)
class CMVReading:
    """One reading of the CMV equation as a recursion in levels.

    Attributes:
        name: Short name.
        description: The equation as read.
        phi: (phi1, phi2): coefficients of CMV one and two quarters back in levels, with
            purchases tracking CMV (``QUAN = CMV``).
        phi_fixed_purchases: The same with purchases held fixed (only CMV's own lags).
    """

    name: str
    description: str
    phi: tuple[float, float]
    phi_fixed_purchases: tuple[float, float]


_G_CMV, _G_QUAN = TABLE4["CMV lag"], TABLE4["QUAN lag"]
READINGS = (
    CMVReading(
        "Table 4, change as dependent variable",
        "CMV_t - CMV_(t-1) = 0.30 CMV_(t-1) + 0.64 QUAN_(t-2) + size terms",
        (1.0 + _G_CMV, _G_QUAN),
        (1.0 + _G_CMV, 0.0),
    ),
    CMVReading(
        "Eq. 6, change as dependent variable",
        "CMV_t - CMV_(t-1) = 0.30 CMV_(t-2) + 0.64 QUAN_(t-1) + size terms",
        (1.0 + _G_QUAN, _G_CMV),
        (1.0, _G_CMV),
    ),
    CMVReading(
        "env: Table 4 as the level equation (A1.3)",
        "CMV_t - mu = 0.30 (CMV_(t-1) - mu) + 0.64 (QUAN_(t-2) - mu) + shock",
        (_G_CMV, _G_QUAN),
        (_G_CMV, 0.0),
    ),
)
"""The readings compared in ``docs/roi_allocation.md``; the last is the env's."""


def spectral_radius(phi1: float, phi2: float) -> float:
    """Largest root modulus of ``z^2 - phi1 z - phi2`` (above 1: the recursion explodes).

    Args:
        phi1: Coefficient of the first lag.
        phi2: Coefficient of the second lag.

    Returns:
        The spectral radius of the AR(2) companion matrix.
    """
    return float(np.abs(np.roots([1.0, -float(phi1), -float(phi2)])).max())


def reading_path(phi: tuple[float, float], quarters: int) -> NDArray[np.float64]:
    """Noise-free CMV path relative to its start under a literal (explosive) reading.

    Both lags start at 1 and the size terms are left out (they are positive, so they only
    make the growth faster).

    Args:
        phi: (phi1, phi2) in levels.
        quarters: Quarters after the start.

    Returns:
        (quarters + 1,) CMV_t / CMV_0.
    """
    quarters = check_int("quarters", quarters, low=1)
    out = np.ones(quarters + 1)
    prev = 1.0
    for t in range(1, quarters + 1):
        out[t] = phi[0] * out[t - 1] + phi[1] * prev
        prev = out[t - 1]
    return out


def env_cmv_paths(
    params: ROIAllocationParams, horizon: int = 12, n_paths: int = 1_000, seed: int = 0
) -> NDArray[np.float64]:
    """CMV paths the env produces, relative to the long-run mean (played with no investment).

    The CMV does not depend on the investments, so any policy gives the same paths.

    Args:
        params: The model.
        horizon: Quarters per episode.
        n_paths: Episodes (vector env copies).
        seed: Reset seed.

    Returns:
        (n_paths, horizon) ``CMV_t / mu`` for the quarters t = 0 .. horizon - 1 whose reward
        it scales.
    """
    from crm_envs.envs.roi_allocation.env import ROIAllocationVectorEnv

    n_paths = check_int("n_paths", n_paths, low=1)
    env = ROIAllocationVectorEnv(n_paths, params=params, horizon=horizon)
    n = params.n_drivers
    obs, _ = env.reset(seed=seed)
    out = np.empty((n_paths, horizon))
    nothing = -np.ones((n_paths, n), dtype=np.float32)
    for t in range(horizon):
        out[:, t] = obs[:, n]
        if t < horizon - 1:
            obs, *_ = env.step(nothing)
    env.close()
    return out


def plot_cmv_paths(
    params: ROIAllocationParams, horizon: int = 12, n_paths: int = 1_000, seed: int = 0
) -> Any:
    """Draw the env's CMV paths (left) and the literal readings' growth (right, log scale).

    Args:
        params: The model.
        horizon: Quarters per episode.
        n_paths: Episodes behind the band.
        seed: Reset seed.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    paths = env_cmv_paths(params, horizon, n_paths, seed)
    t = np.arange(horizon)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    lo, hi = np.percentile(paths, [5, 95], axis=0)
    left.fill_between(t, lo, hi, alpha=0.25, label="5-95% of episodes")
    for k in range(min(5, n_paths)):
        left.plot(t, paths[k], lw=0.8, alpha=0.8)
    left.plot(t, paths.mean(axis=0), color="black", lw=2, label="mean")
    left.axhline(1.0, color="grey", lw=0.5)
    left.set_xlabel("quarter")
    left.set_ylabel("CMV / long-run mean")
    left.set_title(f"env (AR(2) {params.cmv_ar}, shocks {params.cmv_noise:.0%})", fontsize=9)
    left.legend(fontsize=8)
    quarters = np.arange(horizon + 1)
    for reading in READINGS[:-1]:
        right.plot(quarters, reading_path(reading.phi, horizon),
                   label=f"{reading.name} (root {spectral_radius(*reading.phi):.2f})")  # fmt: skip
    env = READINGS[-1]
    label = f"{env.name}: stays at its mean (root {spectral_radius(*env.phi):.2f})"
    right.plot(quarters, np.ones(horizon + 1), color="black", label=label)
    right.set_yscale("log")
    right.set_xlabel("quarter")
    right.set_ylabel("CMV / start (no shocks)")
    right.set_title("readings of Table 4 / Eq. 6 (purchases track CMV)", fontsize=9)
    right.legend(fontsize=7)
    fig.tight_layout()
    return fig
