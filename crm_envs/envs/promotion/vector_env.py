"""Numba-batched vector versions of the promotion environments."""

from __future__ import annotations

from typing import Any

import numpy as np

from crm_envs.core.vector import NumbaVectorEnv
from crm_envs.envs.promotion import kernels
from crm_envs.envs.promotion.env import PromotionSetup
from crm_envs.envs.promotion.params import PromotionParams

__all__ = ["PromotionBanditVectorEnv", "PromotionCampaignVectorEnv"]


class PromotionBanditVectorEnv(NumbaVectorEnv):
    """N promotion bandits stepped by one numba kernel (base of the campaign's too).

    Same arguments as the single envs; copy ``i`` reset with ``seed`` behaves as a single env
    reset with ``seed + i``. Autoreset: ``NEXT_STEP``. ``copy`` says whether returned arrays
    are new each call (see :mod:`crm_envs.core.vector`).
    """

    _campaign = False
    _per_copy = ("_state", "_fstate", "_kobs")

    def __init__(
        self,
        num_envs: int = 1,
        preset: str = "mandania2025_ferry",
        params: PromotionParams | None = None,
        segment: tuple[int, int] | None = None,
        batch_size: float | None = 1000.0,
        horizon: int = 1000,
        drift_sd: float = 0.0,
        drift_max: float = 2.0,
        reward_scale: float = 1.0,
        copy: bool = True,
    ) -> None:
        self._build(
            num_envs,
            copy,
            dict(preset=preset, params=params, segment=segment, batch_size=batch_size, rule=3,
                 budget=None, horizon=horizon, drift_sd=drift_sd, drift_max=drift_max,
                 reward_scale=reward_scale, on_violation="reject"),
        )  # fmt: skip

    def _build(self, num_envs: int, copy: bool, kwargs: dict[str, Any]) -> None:
        self._setup = PromotionSetup(campaign=self._campaign, **kwargs)
        super().__init__(
            num_envs,
            self._setup.observation_space,
            self._setup.action_space,
            kernels.INT_WIDTH,
            copy,
        )
        j = len(self._setup.segments)
        self._fstate = np.zeros((self.num_envs, j))
        self._kobs = np.zeros((self.num_envs, 2 * j), dtype=np.float32)

    @property
    def setup(self) -> PromotionSetup:
        """Segments, priors, baselines and rule helpers (see ``PromotionSetup``)."""
        return self._setup

    def reference_action(self, obs: Any) -> np.ndarray:
        """The exactly optimal action of every copy (``PromotionSetup.best_action``)."""
        best = np.asarray(self._setup.best_action())
        return (
            np.repeat(best[None], self.num_envs, axis=0)
            if best.ndim
            else np.full(self.num_envs, int(best))
        )

    def _reset_envs(self, options: dict[str, Any]) -> dict[str, Any]:
        self._setup.apply_options(options)
        kernels.promo_reset(self._setup.kp, self._fstate, self._state, self._kobs)
        self._publish()
        none = np.zeros(self.num_envs, bool)
        return self._info(None, none, none)

    def _step_envs(self, actions: Any) -> dict[str, Any]:
        arms, rejected, over = self._setup.arms(actions, self.num_envs)
        if not self._setup.campaign:  # the means each copy's pull has, before the drift
            self._means = self._setup.expected_rewards_now(self._fstate)
        kernels.promo_step(self._setup.kp, self._fstate, self._state, arms, self._kobs,
                           self._rew, self._term, self._trunc)  # fmt: skip
        self._publish()
        return self._info(actions, rejected, over)

    def _publish(self) -> None:
        self._obs[...] = self._kobs if self._setup.campaign else 0

    def _info(self, actions: Any, rejected: np.ndarray, over: np.ndarray) -> dict[str, Any]:
        # As in the single env: the means of the pull just made, or after reset of the first.
        exp = self._setup.expected_rewards_now(self._fstate) if actions is None else self._means
        best = np.argmax(exp, axis=1)
        info: dict[str, Any] = {"expected_rewards": np.array(exp), "best_arm": best}
        if actions is not None:
            rows = np.arange(self.num_envs)
            info["regret"] = exp[rows, best] - exp[rows, np.asarray(actions)]
        return info


class PromotionCampaignVectorEnv(PromotionBanditVectorEnv):
    """Vector version of ``PromotionCampaign-v1``."""

    _campaign = True

    def __init__(
        self,
        num_envs: int = 1,
        preset: str = "mandania2025_ferry",
        params: PromotionParams | None = None,
        rule: int = 1,
        budget: float | None = None,
        horizon: int = 12,
        drift_sd: float = 0.0,
        drift_max: float = 2.0,
        reward_scale: float = 1e-3,
        on_violation: str = "reject",
        copy: bool = True,
    ) -> None:
        self._build(
            num_envs,
            copy,
            dict(preset=preset, params=params, segment=None, batch_size=None, rule=rule,
                 budget=budget, horizon=horizon, drift_sd=drift_sd, drift_max=drift_max,
                 reward_scale=reward_scale, on_violation=on_violation),
        )  # fmt: skip

    def allowed(self, arms: Any) -> np.ndarray:
        """(N,) whether each row of per-segment arms obeys the business rule."""
        return self._setup.allowed(np.asarray(arms))

    def _info(self, actions: Any, rejected: np.ndarray, over: np.ndarray) -> dict[str, Any]:
        return {"rejected": rejected, "over_budget": over}
