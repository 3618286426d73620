"""Numba-batched vector version of the B2BCustomer environments."""

from __future__ import annotations

from typing import Any

import numpy as np

from crm_envs.core.vector import NumbaVectorEnv
from crm_envs.envs.b2b_customer import kernels
from crm_envs.envs.b2b_customer.env import INFO_ARRAYS, B2BSetup
from crm_envs.envs.b2b_customer.params import B2BCustomerParams

__all__ = ["B2BCustomerVectorEnv"]


class B2BCustomerVectorEnv(NumbaVectorEnv):
    """N B2B customers stepped together by one numba kernel.

    Same dynamics, arguments and reset options as
    :class:`~crm_envs.envs.b2b_customer.env.B2BCustomerEnv`; copy ``i`` reset with ``seed``
    behaves exactly as a single env reset with ``seed + i``. Autoreset: ``NEXT_STEP``.
    ``info`` holds (N,) arrays ``belief``, ``open_loop_belief``, ``state``, ``purchase_level``.

    Args:
        num_envs: Number of copies N.
        preset: Registered preset name.
        params: Explicit parameters (override ``preset``).
        observation: ``"purchase"``, ``"belief"`` or ``"state"``.
        continuous: Box spend actions instead of the spend grid.
        horizon: Months per episode.
        reward_scale: Multiplier of the dollar reward.
        copy: Whether returned arrays are new each call (see :mod:`crm_envs.core.vector`).
    """

    _per_copy = ("_state", "_fstate")

    def __init__(
        self,
        num_envs: int = 1,
        preset: str = "fan2015_customer_a",
        params: B2BCustomerParams | None = None,
        observation: str = "belief",
        continuous: bool = False,
        horizon: int = 60,
        reward_scale: float = 1e-3,
        copy: bool = True,
    ) -> None:
        self._setup = B2BSetup(preset, params, observation, continuous, horizon, reward_scale)
        super().__init__(
            num_envs,
            self._setup.observation_space,
            self._setup.action_space,
            kernels.INT_WIDTH,
            copy,
        )
        self._fstate = np.zeros((self.num_envs, kernels.FLOAT_WIDTH))
        # Work space of continuous spends only: grid actions read the tabled probabilities.
        rows = self.num_envs if self._setup.continuous else 1
        self._scratch = np.zeros((rows, 2, self._setup.params.n_levels))
        for name, dtype in INFO_ARRAYS:
            self._declare_output(name, (self.num_envs,), dtype)

    def _info(self) -> dict[str, Any]:
        return {name: self._out[name] for name, _ in INFO_ARRAYS}

    def _reset_envs(self, options: dict[str, Any]) -> dict[str, Any]:
        self._setup.apply_options(options)
        info = self._info()
        self._kernel(kernels.b2b_reset, kernels.b2b_reset_serial)(
            self._setup.kp, self._fstate, self._state, self._obs, *info.values()
        )
        return info

    def _step_envs(self, actions: Any) -> dict[str, Any]:
        act, spend = self._setup.step_args(actions, self.num_envs)
        info = self._info()
        self._kernel(kernels.b2b_step, kernels.b2b_step_serial)(
            self._setup.kp, self._setup.tables, self._fstate, self._state, act, spend,
            self._scratch, self._obs, self._rew, self._term, self._trunc, *info.values(),
        )  # fmt: skip
        return info

    def reference_action(self, obs: np.ndarray) -> np.ndarray:
        """The POMDP policy's action for each row of ``obs`` (``"belief"`` observations)."""
        return self._setup.reference_actions(obs)
