"""Parameters of the ROIAllocation model (Streukens, van Hoesel & de Ruyter 2011).

Each driver ``i`` (a perceived-quality element) has an ADBUDG response ``y_i(eff)`` (Eq. 2)
and a current level ``y0_i``, held by the maintenance effort ``e0_i = y_i^{-1}(y0_i)``. An
investment ``x_i >= 0`` on top raises the level to ``y_i(e0_i + x_i)``. Retention (loyalty)
is linear in the drivers with slopes ``lambda_i``, the total effects of the drivers on loyalty
in the path model (Eq. 1b, Eq. 7). Investment revenue is ``CMV * sum_i lambda_i (y_i - y0_i)``
(Eq. 1a with an unchanged aggregate customer monetary value), investment profit is revenue
minus ``sum_i x_i`` and ROI is profit over investment (Eq. 8).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crm_envs.core.params import check_array, check_int, check_range_array, check_scalar
from crm_envs.core.rng import NORMAL_MAX
from crm_envs.envs.roi_allocation.adbudg import adbudg, adbudg_inverse, check_adbudg
from crm_envs.envs.roi_allocation.kernels import ROIKernelParams
from crm_envs.envs.roi_allocation.paths import PathModel

__all__ = ["ROIAllocationParams"]


@dataclass(frozen=True, kw_only=True, eq=False)
class ROIAllocationParams:
    """Every number of the ROIAllocation model.

    Attributes:
        driver_names: Name of each driver (a node of ``path_model``).
        levels0: (n,) pre-investment level of each driver, in [a, b).
        a: (n,) ADBUDG level at zero effort.
        b: (n,) ADBUDG level with unlimited effort (> a).
        c: (n,) ADBUDG shape (> 0; the exact solver needs c <= 1, i.e. concave response).
        d: (n,) ADBUDG effort scale (> 0).
        path_model: Weighted acyclic graph from the drivers to ``loyalty_node``.
        loyalty_node: The retention-probability node of ``path_model``.
        cmv: Aggregate customer monetary value per period (> 0), in dollars.
        kappa: (n,) persistence of investment effects per period in [0, 1] (the paper's
            section 6 extension; 1 = permanent). Used by the multi-period environments.
        cmv_ar: (2,) coefficients of the dynamic panel model of CMV (Table 4): on last
            period's CMV and on the value two periods back (the purchase quantity lag).
        cmv_noise: Standard deviation of the CMV shock per period, as a fraction of ``cmv``.
        budget: Total investment budget over an episode of the multi-period environments.
        max_effort: Largest investment per driver and period (the action scale), > 0.
    """

    driver_names: tuple[str, ...]
    levels0: NDArray[np.float64]
    a: NDArray[np.float64]
    b: NDArray[np.float64]
    c: NDArray[np.float64]
    d: NDArray[np.float64]
    path_model: PathModel
    loyalty_node: str = "LOY"
    cmv: float
    kappa: NDArray[np.float64] | float = 1.0
    cmv_ar: tuple[float, float] = (0.30, 0.64)
    cmv_noise: float = 0.05
    budget: float = 504_000.0
    max_effort: float = 60_000.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        names = tuple(self.driver_names)
        n = len(names)
        if n == 0:
            raise ValueError("driver_names must name at least one driver")
        set_(self, "driver_names", names)
        for field in ("levels0", "a", "b", "c", "d", "kappa"):
            value = np.broadcast_to(np.asarray(getattr(self, field), dtype=float), (n,))
            set_(self, field, check_array(field, value, shape=(n,)))
        check_adbudg(self.a, self.b, self.c, self.d)
        bad = np.flatnonzero((self.levels0 < self.a) | (self.levels0 >= self.b))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"levels0[{i}] ({names[i]}) = {self.levels0[i]} must lie in [a, b) = "
                f"[{self.a[i]}, {self.b[i]})"
            )
        check_range_array("kappa", self.kappa, 0.0, 1.0)
        if not isinstance(self.path_model, PathModel):
            raise TypeError(f"path_model must be a PathModel, got {type(self.path_model)}")
        for node in (*names, self.loyalty_node):
            self.path_model.index(node)
        check_scalar("cmv", self.cmv, low=0.0, low_open=True)
        ar = tuple(float(x) for x in self.cmv_ar)
        if len(ar) != 2 or not (abs(ar[1]) < 1 and ar[0] + ar[1] < 1 and ar[1] - ar[0] < 1):
            raise ValueError(f"cmv_ar must be a stationary AR(2) pair, got {self.cmv_ar}")
        set_(self, "cmv_ar", ar)
        check_scalar("cmv_noise", self.cmv_noise, low=0.0)
        check_scalar("budget", self.budget, low=0.0)
        check_scalar("max_effort", self.max_effort, low=0.0, low_open=True)

    @property
    def n_drivers(self) -> int:
        """Number of drivers n."""
        return len(self.driver_names)

    @property
    def impacts(self) -> NDArray[np.float64]:
        """(n,) total effect of each driver on loyalty, lambda_i (Eq. 7; Table 5 row 3)."""
        lam = self.path_model.total_effects()
        q = self.path_model.index(self.loyalty_node)
        return np.array([lam[self.path_model.index(name), q] for name in self.driver_names])

    @property
    def maintenance_effort(self) -> NDArray[np.float64]:
        """(n,) effort that holds the current levels (Table 5, "effort to maintain")."""
        return adbudg_inverse(self.levels0, self.a, self.b, self.c, self.d)

    def levels(self, investment: Any) -> NDArray[np.float64]:
        """(n,) levels after investing ``investment`` on top of the maintenance effort."""
        x = np.asarray(investment, dtype=float)
        if x.shape != (self.n_drivers,) or np.any(~np.isfinite(x)) or np.any(x < 0):
            raise ValueError(
                f"investment must be {self.n_drivers} finite non-negative efforts, got {investment}"
            )
        return adbudg(self.maintenance_effort + x, self.a, self.b, self.c, self.d)

    def revenue(self, investment: Any, impacts: NDArray[np.float64] | None = None) -> float:
        """Investment revenue, Eq. 1a: ``cmv * sum_i lambda_i (y_i - y0_i)``."""
        lam = self.impacts if impacts is None else impacts
        # levels(0) equals levels0 up to rounding; using it makes zero investment earn exactly 0.
        return float(
            self.cmv * lam @ (self.levels(investment) - self.levels(np.zeros(self.n_drivers)))
        )

    def cmv_ratio_bound(self, horizon: int) -> float:
        """The largest ``|CMV_t / mu - 1|`` the env can produce in ``horizon`` quarters.

        An episode starts with both CMVs at the mean ``mu``, so after t shocks the deviation
        is ``sigma * sum_{k<t} psi_k z_k`` with ``psi`` the AR(2)'s impulse response
        (``psi_0 = 1, psi_1 = phi1, psi_k = phi1 psi_{k-1} + phi2 psi_{k-2}``) and each
        ``|z_k|`` at most :data:`~crm_envs.core.rng.NORMAL_MAX`, the largest normal draw of the
        kernels' random streams. This gives finite observation bounds without clipping.

        Args:
            horizon: Quarters per episode.

        Returns:
            The bound, as a multiple of the mean.
        """
        phi1, phi2 = self.cmv_ar
        psi = np.zeros(check_int("horizon", horizon, low=1) + 1)
        psi[0] = 1.0
        for k in range(1, len(psi)):
            psi[k] = phi1 * psi[k - 1] + (phi2 * psi[k - 2] if k >= 2 else 0.0)
        return float(NORMAL_MAX * self.cmv_noise * np.abs(psi[:horizon]).sum())

    def to_kernel(
        self,
        horizon: int,
        discrete: bool = False,
        increment: float = 5_000.0,
        reward_scale: float = 1.0,
    ) -> ROIKernelParams:
        """Build the NamedTuple the numba kernel reads.

        Args:
            horizon: Quarters per episode.
            discrete: The kernel reads ``Discrete(n + 1)`` indices instead of Box actions.
            increment: Dollars of one discrete investment.
            reward_scale: Multiplier of the dollar profit.

        Returns:
            The kernel parameters.
        """
        return ROIKernelParams(
            a=self.a.copy(), b=self.b.copy(), c=self.c.copy(), d=self.d.copy(),
            e0=self.maintenance_effort, y0=self.levels(np.zeros(self.n_drivers)),
            impacts=self.impacts,
            kappa=self.kappa.copy(), cmv_mean=float(self.cmv), phi1=self.cmv_ar[0],
            phi2=self.cmv_ar[1], noise_sd=float(self.cmv_noise * self.cmv),
            budget=float(self.budget), horizon=check_int("horizon", horizon, low=1),
            discrete=bool(discrete), half_effort=0.5 * self.max_effort,
            increment=float(increment), reward_scale=float(reward_scale),
        )  # fmt: skip

    def replace(self, **changes: Any) -> ROIAllocationParams:
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)
