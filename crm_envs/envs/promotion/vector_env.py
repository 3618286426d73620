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
    reset with ``seed + i``. Autoreset: ``NEXT_STEP``; the step that resets a copy reports the
    means of its first pull and a regret of 0 (no pull is made). ``copy`` says whether
    returned arrays are new each call (see :mod:`crm_envs.core.vector`). The kernel writes
    every info array into the declared output buffers.
    """

    _campaign = False
    _per_copy = ("_state", "_fstate")

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
        n = self.num_envs
        self._fstate = np.zeros((n, len(self._setup.segments)))
        # Stand-ins for the outputs the other env kind has (the kernel skips empty arrays).
        self._none_f32 = np.zeros((1, 0), dtype=np.float32)
        self._none_f64 = np.zeros((1, 0))
        self._none_i64 = np.zeros(0, dtype=np.int64)
        self._none_vec = np.zeros(0)
        self._none_bool = np.zeros(0, dtype=np.bool_)
        self._declare_info()

    def _declare_info(self) -> None:
        n = self.num_envs
        self._declare_output("expected_rewards", (n, self._setup.n_arms), np.float64)
        self._declare_output("best_arm", (n,), np.int64)
        self._declare_output("regret", (n,), np.float64)

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
        kernels.promo_reset(self._setup.kp, self._fstate, self._state, self._none_f32)
        self._obs[...] = 0
        # The means of the first pull (no drift yet).
        self._out["expected_rewards"][...] = self._setup.kp.exp0
        self._out["best_arm"][...] = self._setup.kp.best0
        return {"expected_rewards": self._out["expected_rewards"],
                "best_arm": self._out["best_arm"]}  # fmt: skip

    def _step_envs(self, actions: Any) -> dict[str, Any]:
        arms, _, _ = self._setup.arms(actions, self.num_envs)
        out = self._out
        kernels.promo_step(self._setup.kp, self._fstate, self._state, arms, self._none_bool,
                           self._none_f32, self._rew, self._term, self._trunc,
                           out["expected_rewards"], out["best_arm"], out["regret"])  # fmt: skip
        self._obs[...] = 0
        return {"expected_rewards": out["expected_rewards"], "best_arm": out["best_arm"],
                "regret": out["regret"]}  # fmt: skip


class PromotionCampaignVectorEnv(PromotionBanditVectorEnv):
    """Vector version of ``PromotionCampaign-v2``."""

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

    def _declare_info(self) -> None:
        self._declare_output("rejected", (self.num_envs,), np.bool_)
        self._declare_output("over_budget", (self.num_envs,), np.bool_)

    def allowed(self, arms: Any) -> np.ndarray:
        """(N,) whether each row of per-segment arms obeys the business rule."""
        return self._setup.allowed(np.asarray(arms))

    def _reset_envs(self, options: dict[str, Any]) -> dict[str, Any]:
        self._setup.apply_options(options)
        kernels.promo_reset(self._setup.kp, self._fstate, self._state, self._obs)
        out = self._out
        out["rejected"][...] = False
        out["over_budget"][...] = False
        return {"rejected": out["rejected"], "over_budget": out["over_budget"]}

    def _step_envs(self, actions: Any) -> dict[str, Any]:
        out = self._out
        arms, rejected, over = self._setup.arms(actions, self.num_envs, out["rejected"],
                                                out["over_budget"])  # fmt: skip
        kernels.promo_step(self._setup.kp, self._fstate, self._state, arms, rejected,
                           self._obs, self._rew, self._term, self._trunc, self._none_f64,
                           self._none_i64, self._none_vec)  # fmt: skip
        return {"rejected": rejected, "over_budget": over}
