"""``crm_envs/ROIAllocation-v0`` and ``crm_envs/ROIAllocationDiscrete-v0``: quarterly budgets."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from crm_envs.core.wrappers import TaskEnv, TaskVectorEnv
from crm_envs.envs.roi_allocation.params import ROIAllocationParams
from crm_envs.envs.roi_allocation.task import DEFAULT_INCREMENT, ROITask, observation_space

__all__ = [
    "DEFAULT_INCREMENT",
    "ROIAllocationEnv",
    "ROIAllocationVectorEnv",
    "ROITask",
    "observation_space",
]


class ROIAllocationEnv(TaskEnv):
    """Quarterly marketing investment across quality drivers (Streukens et al. 2011).

    ## Description

    A B2B supplier invests, quarter by quarter over ``horizon`` quarters (default 12), in
    seven quality drivers (ordering, information requests, catalogue, delivery, product
    quality, complaint management, invoicing). Each driver's perceived level responds to its
    effort by an ADBUDG curve; levels raise the retention probability through the driver ->
    quality -> value/satisfaction/trust -> loyalty path model; retention times the aggregate
    customer monetary value (CMV) is revenue. Investment effects persist with factor kappa
    per driver (the paper's section 6 extension) and the CMV follows Table 4's dynamic panel
    model with shocks. The episode budget caps total investment.

    ## Action Space

    ``Box(-1, 1, (7,), float32)``: investment per driver this quarter, mapped linearly from
    [-1, 1] to [0, ``max_effort``] dollars (default $60,000). Actions outside the box raise.
    If the quarter's total exceeds the budget left, every driver's investment is scaled down
    to spend exactly the rest (``info["budget_limited"]``).

    With ``discrete=True`` (``ROIAllocationDiscrete-v0``, for tabular agents and DQN):
    ``Discrete(8)``: action 0 invests nothing this quarter, action k in 1..7 one ``increment``
    (default $5,000) in driver k. An action outside the space raises.

    ## Observation Space

    ``Box(float32, (11,))``: the seven driver levels (in [a, b)), this and last quarter's
    CMV relative to its long-run mean, the budget left as a fraction of the budget, and the
    fraction of the horizon elapsed. Every bound is finite: the CMV ratios stay within
    ``1 +- ROIAllocationParams.cmv_ratio_bound(horizon)`` (about 1 +- 2.6 for the default
    preset and 12 quarters), the largest deviation the shocks of the random stream allow.

    ## Rewards

    The quarter's investment profit ``CMV_t * sum_i lambda_i (y_i - y0_i) - investment``
    (Eq. 1a), times ``reward_scale`` (default 1e-3: thousands of dollars).

    ## Starting State

    No investment stock (pre-investment levels of Table 5), CMV at its mean, full budget.

    ## Episode End

    Truncated after ``horizon`` quarters; never terminated.

    ## Arguments

    ``preset`` (default ``"streukens2011"``), ``params``, ``horizon`` (12), ``discrete``
    (False), ``increment`` (5,000; discrete actions only), ``reward_scale`` (1e-3).
    ``reset(options={"params": p})`` swaps the numeric parameters (same drivers).

    ## Calibration & References

    Streukens, van Hoesel & de Ruyter (2011), Industrial Marketing Management 40(1) 149-161:
    Table 3 (path model), Table 4 (CMV dynamics), Table 5 (levels, impacts, ADBUDG), section
    6 (persistence). With one quarter, no CMV noise and kappa = 1 the optimal action is
    :func:`~crm_envs.envs.roi_allocation.solver.solve_allocation`'s. The CMV dynamics are the
    level reading of Table 4, an assumption: the paper's own form, with the change of CMV as
    the dependent variable, explodes (see the preset's docstring and ``docs/roi_allocation.md``).
    ``env.unwrapped.reference_action(obs)`` is the benchmark's reference policy, a planner:
    the first quarter of the exact plan over the quarters left for the forecast CMV
    (:func:`~crm_envs.envs.roi_allocation.planner.plan_investments`), re-planned every quarter.
    The discrete env's reference is the look-ahead (``lookahead_action``): the best increment
    now if nothing more were invested.

    ## Registered Configurations

    ``crm_envs/ROIAllocation-v0`` (Box actions), ``crm_envs/ROIAllocationDiscrete-v0``
    (``discrete=True``: ``Discrete(8)``, nothing or one $5,000 increment to one driver per
    quarter).

    ## Version History

    * v0: initial release.
    """

    metadata: dict[str, Any] = {"render_modes": []}
    task_cls = ROITask

    def __init__(
        self,
        preset: str = "streukens2011",
        params: ROIAllocationParams | None = None,
        horizon: int = 12,
        discrete: bool = False,
        increment: float = DEFAULT_INCREMENT,
        reward_scale: float = 1e-3,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(
            preset=preset, params=params, horizon=horizon, discrete=discrete,
            increment=increment, reward_scale=reward_scale, render_mode=render_mode,
        )  # fmt: skip

    def reference_action(self, obs: NDArray[np.floating]) -> Any:
        """Reference action for ``obs`` (see ``ROITask.reference_action``)."""
        return self._setup.reference_action(obs)


class ROIAllocationVectorEnv(TaskVectorEnv):
    """N ROIAllocation episodes stepped together by one numba kernel.

    Same dynamics, arguments and reset options as :class:`ROIAllocationEnv` (Box actions, or
    ``Discrete(n + 1)`` ones with ``discrete=True``); copy ``i`` reset with ``seed`` behaves
    exactly as a single env reset with ``seed + i``. Autoreset: ``NEXT_STEP``.
    ``info["budget_limited"]`` is a (N,) bool array.

    Args:
        num_envs: Number of copies N.
        preset: Registered preset name.
        params: Explicit parameters (override ``preset``).
        horizon: Quarters per episode.
        discrete: ``Discrete(n + 1)`` actions instead of a Box.
        increment: Dollars of one discrete investment step (discrete actions only).
        reward_scale: Multiplier of the dollar profit.
        copy: Whether returned arrays are new each call (see :mod:`crm_envs.core.vector`).
    """

    task_cls = ROITask

    def __init__(
        self,
        num_envs: int = 1,
        preset: str = "streukens2011",
        params: ROIAllocationParams | None = None,
        horizon: int = 12,
        discrete: bool = False,
        increment: float = DEFAULT_INCREMENT,
        reward_scale: float = 1e-3,
        copy: bool = True,
    ) -> None:
        super().__init__(
            num_envs, copy, preset=preset, params=params, horizon=horizon, discrete=discrete,
            increment=increment, reward_scale=reward_scale,
        )  # fmt: skip

    def reference_action(self, obs: NDArray[np.floating]) -> NDArray[Any]:
        """Reference action (see ``ROITask.reference_action``) for each row of ``obs``."""
        return np.stack([self._setup.reference_action(o) for o in np.asarray(obs)])
