"""Numba-batched vector versions of the ROIAllocation environments."""

from __future__ import annotations

from typing import Any

import numpy as np

from crm_envs.core.vector import NumbaVectorEnv
from crm_envs.envs.roi_allocation import kernels
from crm_envs.envs.roi_allocation.env import DEFAULT_INCREMENT, ROISetup
from crm_envs.envs.roi_allocation.params import ROIAllocationParams

__all__ = ["ROIAllocationDiscreteVectorEnv", "ROIAllocationVectorEnv"]


class ROIAllocationVectorEnv(NumbaVectorEnv):
    """N ROIAllocation episodes stepped together by one numba kernel.

    Same dynamics, arguments and reset options as
    :class:`~crm_envs.envs.roi_allocation.env.ROIAllocationEnv`; copy ``i`` reset with ``seed``
    behaves exactly as a single env reset with ``seed + i``. Autoreset: ``NEXT_STEP``.
    ``info["budget_limited"]`` is a (N,) bool array.

    Args:
        num_envs: Number of copies N.
        preset: Registered preset name.
        params: Explicit parameters (override ``preset``).
        horizon: Quarters per episode.
        increment: Dollars of one discrete investment step (discrete version).
        reward_scale: Multiplier of the dollar profit.
        copy: Whether returned arrays are new each call (see :mod:`crm_envs.core.vector`).
    """

    _per_copy = ("_state", "_fstate")

    _discrete = False

    def __init__(
        self,
        num_envs: int = 1,
        preset: str = "streukens2011",
        params: ROIAllocationParams | None = None,
        horizon: int = 12,
        increment: float = DEFAULT_INCREMENT,
        reward_scale: float = 1e-3,
        copy: bool = True,
    ) -> None:
        self._setup = ROISetup(preset, params, horizon, self._discrete, increment, reward_scale)
        super().__init__(
            num_envs,
            self._setup.observation_space,
            self._setup.action_space,
            kernels.INT_WIDTH,
            copy,
        )
        self._fstate = np.zeros((self.num_envs, self._setup.params.n_drivers + 3))
        self._declare_output("budget_limited", (self.num_envs,), np.bool_)

    def _reset_envs(self, options: dict[str, Any]) -> dict[str, Any]:
        self._setup.apply_options(options)
        self._kernel(kernels.roi_reset, kernels.roi_reset_serial)(
            self._setup.kp, self._fstate, self._state, self._obs
        )
        limited = self._out["budget_limited"]
        limited[:] = False
        return {"budget_limited": limited}

    def _step_envs(self, actions: Any) -> dict[str, Any]:
        act = self._setup.kernel_actions(actions, self.num_envs)
        limited = self._out["budget_limited"]
        self._kernel(kernels.roi_step, kernels.roi_step_serial)(
            self._setup.kp, self._fstate, self._state, act, self._obs, self._rew,
            self._term, self._trunc, limited,
        )  # fmt: skip
        return {"budget_limited": limited}

    def reference_action(self, obs: np.ndarray) -> np.ndarray:
        """Reference action (see ``ROISetup.reference_action``) for each row of ``obs``."""
        return np.stack([self._setup.reference_action(o) for o in np.asarray(obs)])


class ROIAllocationDiscreteVectorEnv(ROIAllocationVectorEnv):
    """Vector version of ``ROIAllocationDiscrete-v0`` (``Discrete(n + 1)`` actions)."""

    _discrete = True
