"""Numba-batched vector version of ``crm_envs/CustomerJourney-v1``."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from crm_envs.core.models import TabularMDP
from crm_envs.core.vector import NumbaVectorEnv
from crm_envs.envs.customer_journey import kernels
from crm_envs.envs.customer_journey.env import JourneySetup
from crm_envs.envs.customer_journey.params import N_ACTIONS, CustomerJourneyParams

__all__ = ["CustomerJourneyVectorEnv"]


class CustomerJourneyVectorEnv(NumbaVectorEnv):
    """N customer journeys stepped together by one numba kernel.

    Same dynamics, arguments and reset options as
    :class:`~crm_envs.envs.customer_journey.env.CustomerJourneyEnv` (``options["region"]`` may
    also be one region per copy). Copy ``i`` reset with ``seed`` behaves exactly as a single env
    reset with ``seed + i``. Autoreset mode: ``NEXT_STEP``. ``info["action_mask"]`` holds the
    (N, 4) int8 masks of the current cells.

    Args:
        num_envs: Number of journeys N.
        preset: Registered preset name.
        params: Explicit parameters (override ``preset``).
        start: ``"f2f"`` | ``"pauses"`` | ``"any"``.
        horizon: Maximum journey length.
        copy: Whether returned arrays are new each call (see :mod:`crm_envs.core.vector`).
    """

    def __init__(
        self,
        num_envs: int = 1,
        preset: str = "bonaccorso",
        params: CustomerJourneyParams | None = None,
        start: str = "f2f",
        horizon: int = 10,
        copy: bool = True,
    ) -> None:
        self._setup = JourneySetup(preset, params, start, horizon)
        super().__init__(
            num_envs,
            self._setup.observation_space,
            self._setup.action_space,
            kernels.STATE_WIDTH,
            copy,
        )
        self._declare_output("action_mask", (self.num_envs, N_ACTIONS), np.int8)

    @property
    def params(self) -> CustomerJourneyParams:
        """The numeric parameters in force."""
        return self._setup.params

    def _reset_envs(self, options: dict[str, Any]) -> dict[str, Any]:
        self._setup.apply_options(options, self._state)
        mask = self._out["action_mask"]
        self._kernel(kernels.journey_reset, kernels.journey_reset_serial)(
            self._setup.kp, self._state, self._obs, mask
        )
        return {"action_mask": mask}

    def _step_envs(self, actions: Any) -> dict[str, Any]:
        act = self.check_discrete_actions(actions, N_ACTIONS)
        mask = self._out["action_mask"]
        self._kernel(kernels.journey_step, kernels.journey_step_serial)(
            self._setup.kp, self._state, act, self._obs, self._rew, self._term, self._trunc, mask
        )
        return {"action_mask": mask}

    def model(self) -> TabularMDP:
        """Exact finite-horizon MDP of one journey (see ``CustomerJourneyEnv.model``)."""
        return self._setup.model()

    def state_index(self, obs: NDArray[np.integer]) -> NDArray[np.int64]:
        """Model state index of observation(s) ``(row, col, region, t)``."""
        return self._setup.state_index(obs)
