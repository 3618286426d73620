"""The task of ``crm_envs/ROIAllocation-v0`` and ``crm_envs/ROIAllocationDiscrete-v0``.

What the single and the vector env share: params, spaces, kernels, action encoding, reset
options, the reference policy and the baselines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from crm_envs.core.oracle import (
    Exact,
    Heuristic,
    Planner,
    Policy,
    constant_policy,
    random_policy,
)
from crm_envs.core.params import check_bool, check_int, check_options, check_scalar
from crm_envs.core.task import Task
from crm_envs.envs.roi_allocation import kernels as _kernels
from crm_envs.envs.roi_allocation.adbudg import adbudg, adbudg_inverse
from crm_envs.envs.roi_allocation.params import ROIAllocationParams
from crm_envs.envs.roi_allocation.planner import plan_investments
from crm_envs.envs.roi_allocation.presets import get_preset
from crm_envs.envs.roi_allocation.solver import cmv_forecast, lookahead_allocation

__all__ = ["DEFAULT_INCREMENT", "ROITask", "observation_space"]

_RESET_OPTIONS = ("params",)
DEFAULT_INCREMENT = 5_000.0
"""Dollars of one discrete investment step (``ROIAllocationDiscrete-v0``)."""


def observation_space(params: ROIAllocationParams, horizon: int) -> spaces.Box:
    """The finite observation box: levels in [a, b], CMV ratios within the shock bound.

    Args:
        params: The env's parameters.
        horizon: Quarters per episode (the CMV bound grows with it).

    Returns:
        ``Box`` of shape (n + 4,), float32. Rounding to float32 is monotone, so a value
        within the float64 bounds stays within their float32 roundings.
    """
    dev = params.cmv_ratio_bound(horizon)
    low = np.concatenate([params.a, [1.0 - dev, 1.0 - dev, 0.0, 0.0]])
    high = np.concatenate([params.b, [1.0 + dev, 1.0 + dev, 1.0, 1.0]])
    return spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)


class ROITask(Task):
    """Quarterly investment across quality drivers: params, spaces, kernels, reference policy.

    What :class:`~crm_envs.envs.roi_allocation.env.ROIAllocationEnv` and its vector env share;
    the defaults are the registered ``ROIAllocation-v0``'s (``ROIAllocationDiscrete-v0``
    registers ``discrete=True``).

    Actions of both kinds go through the wrappers' shared validator
    (:func:`~crm_envs.core.wrappers.check_batch_actions`: Box values in [-1, 1], nothing
    clipped, a float32 batch passed uncopied; ``Discrete`` with the single env's fast path for
    plain ``int`` actions), and the kernel reads the validated batch as it is (see
    :mod:`~crm_envs.envs.roi_allocation.kernels`).

    Args:
        preset: Registered preset name.
        params: Explicit parameters (override ``preset``).
        horizon: Quarters per episode.
        discrete: ``Discrete(n + 1)`` actions (nothing, or one ``increment`` to one driver per
            quarter) instead of a Box.
        increment: Dollars of one discrete investment step (discrete actions only).
        reward_scale: Rewards are investment profit in dollars times this (default: $1,000s).
    """

    state_width = _kernels.STATE_WIDTH
    kernels = _kernels.KERNELS
    #: The info arrays (the kernels' ``extra``): whether the budget left capped the quarter's
    #: investment.
    outputs = {"budget_limited": ((), np.bool_)}

    def __init__(
        self,
        preset: str = "streukens2011",
        params: ROIAllocationParams | None = None,
        horizon: int = 12,
        discrete: bool = False,
        increment: float = DEFAULT_INCREMENT,
        reward_scale: float = 1e-3,
    ) -> None:
        if params is None:
            params = get_preset(preset)
        elif not isinstance(params, ROIAllocationParams):
            raise TypeError(f"params must be ROIAllocationParams, got {type(params).__name__}")
        self.params = params
        self.horizon = check_int("horizon", horizon, low=1)
        self.discrete = check_bool("discrete", discrete)
        self.increment = check_scalar("increment", increment, low=0.0, low_open=True)
        if not self.discrete and increment != DEFAULT_INCREMENT:
            raise ValueError(
                f"increment={increment!r} applies to the discrete env only (one increment to "
                "one driver per quarter); Box actions choose any amount. Use "
                "ROIAllocationDiscrete-v0 (discrete=True), or leave increment at its default"
            )
        self.reward_scale = check_scalar("reward_scale", reward_scale, low=0.0, low_open=True)
        self.kp = self._kernel_params(params)
        n = params.n_drivers
        self.float_width = _kernels.float_width(n)
        self.observation_space = observation_space(params, self.horizon)
        if self.discrete:
            self.action_space: spaces.Space[Any] = spaces.Discrete(n + 1)
        else:
            self.action_space = spaces.Box(-1.0, 1.0, (n,), dtype=np.float32)

    def apply_options(
        self,
        options: Mapping[str, Any] | None,
        fstate: NDArray[np.float64],
        state: NDArray[np.int64],
    ) -> None:
        """Validate the reset options; ``{"params": ROIAllocationParams}`` swaps the params.

        Every episode starts the same way, so nothing is written into the state.

        Args:
            options: ``None`` or ``{"params": ROIAllocationParams}`` (same drivers, and an
                observation box within the env's).
            fstate: The (N, n + 4) float state (unused).
            state: The (N, 4) int state (unused).
        """
        options = check_options(options, _RESET_OPTIONS)
        if "params" not in options:
            return
        new = options["params"]
        if not isinstance(new, ROIAllocationParams):
            raise TypeError(f"options['params'] must be ROIAllocationParams, got {type(new)}")
        if new.n_drivers != self.params.n_drivers:
            raise ValueError(
                f"options['params'] must keep {self.params.n_drivers} drivers (they fix the "
                f"spaces), got {new.n_drivers}"
            )
        box, space = observation_space(new, self.horizon), self.observation_space
        if np.any(box.low < space.low) or np.any(box.high > space.high):
            raise ValueError(
                "options['params'] would let observations leave the observation space: its "
                "ADBUDG limits a, b and CMV bound (cmv_ar, cmv_noise) must fit within the "
                "env's; make a new env with these params instead"
            )
        self.params = new
        self.kp = self._kernel_params(new)

    def _kernel_params(self, params: ROIAllocationParams) -> _kernels.ROIKernelParams:
        return params.to_kernel(self.horizon, self.discrete, self.increment, self.reward_scale)

    def reference_action(self, obs: NDArray[np.floating]) -> Any:
        """The benchmark's reference action for one observation.

        Box actions: the first quarter of :func:`~crm_envs.envs.roi_allocation.planner.
        plan_investments`, the exact profit-maximising plan over the quarters left when the
        CMV follows its forecast, within the budget left; re-planned every quarter (model-
        predictive control) and clipped to ``max_effort`` per driver, which the plan does not
        know about. Discrete actions: :meth:`lookahead_action` (the plan cannot be played one
        increment at a time).

        Args:
            obs: One observation of the env.

        Returns:
            An action of the env's action space.
        """
        if self.discrete:
            return self.lookahead_action(obs)
        p = self.params
        stock, cmv, cmv_prev, left, quarters_left = self._state_of(obs)
        x = plan_investments(p, quarters_left, stock, cmv, cmv_prev, budget=left)[0]
        x = np.minimum(x, p.max_effort)
        return (2.0 * x / p.max_effort - 1.0).astype(np.float32)

    def lookahead_action(self, obs: NDArray[np.floating]) -> Any:
        """The best investment now if nothing more were invested, over the quarters left.

        Box actions: :func:`~crm_envs.envs.roi_allocation.solver.lookahead_allocation` within
        the budget left and ``max_effort`` per driver. Discrete actions: the action with the
        highest value by the same measure. It over-invests now (it ignores that later
        quarters can top the stock up), so in the Box env it is neither the reference nor a
        declared baseline (the myopic policy beats it).

        Args:
            obs: One observation of the env.

        Returns:
            An action of the env's action space.
        """
        return self._lookahead_action(obs, myopic=False)

    def oracle(self) -> Planner | Heuristic:
        """Box: the re-planned exact plan (a planner). Discrete: the look-ahead (a heuristic)."""
        if self.discrete:
            return Heuristic(
                Policy("look-ahead", lambda obs, info: self.lookahead_action(obs),
                       "best increment now if nothing more were invested, over the quarters "
                       "left"),
                "look-ahead increment; the discrete problem has no finite exact model",
            )  # fmt: skip
        return Planner(
            Policy("plan", lambda obs, info: self.reference_action(obs),
                   "first quarter of the exact plan for the forecast CMV, re-planned every "
                   "quarter"),
            "certainty-equivalent plan over the quarters left (exact for the forecast CMV "
            "path), re-planned each quarter, first quarter clipped to the cap",
        )  # fmt: skip

    def baselines(self, seed: int) -> list[tuple[str, Policy | Exact]]:
        """Random, constant investments and the myopic policy.

        The myopic policy values an investment over this quarter only, as if the episode ended.
        (The look-ahead, :meth:`lookahead_action`, loses to it in the Box env: 263.9 against
        340.1 over 200 episodes.)
        """
        out: list[tuple[str, Policy | Exact]] = [("random", random_policy(self.action_space, seed))]
        n = self.params.n_drivers
        if self.discrete:
            labels = ["nothing"] + [f"+{self.increment:,.0f} to {d}" for d in
                                    self.params.driver_names]  # fmt: skip
            out += [("constant", constant_policy(a, labels[a])) for a in range(n + 1)]
        else:
            for frac in (0.0, 0.25, 0.5, 1.0):
                action = np.full(n, 2.0 * frac - 1.0, dtype=np.float32)
                label = f"{frac:.0%} of the cap to every driver"
                out.append(("constant", constant_policy(action, label)))
        myopic = Policy("myopic", lambda obs, info: self._lookahead_action(obs, myopic=True),
                        "the look-ahead valued over this quarter only")  # fmt: skip
        out.append(("naive", myopic))
        return out

    def _state_of(self, obs: NDArray[np.floating]) -> tuple[NDArray, float, float, float, int]:
        """Stock, CMV, last CMV, budget left and quarters left read from one observation."""
        p, n = self.params, self.params.n_drivers
        if not self.observation_space.contains(np.asarray(obs, dtype=np.float32)):
            raise ValueError(
                f"obs must be one observation in {self.observation_space}, got {obs!r}"
            )
        o = np.asarray(obs, dtype=np.float64)
        # Levels come as float32: undo its rounding, which can put a level just below a (or at
        # b), outside the domain [a, b) of the ADBUDG inverse.
        levels = np.clip(o[:n], p.a, np.nextafter(p.b, p.a))
        stock = np.maximum(adbudg_inverse(levels, p.a, p.b, p.c, p.d) - p.maintenance_effort, 0)
        quarters_left = max(1, round((1.0 - o[n + 3]) * self.horizon))
        return stock, o[n] * p.cmv, o[n + 1] * p.cmv, o[n + 2] * p.budget, quarters_left

    def _lookahead_action(self, obs: NDArray[np.floating], myopic: bool) -> Any:
        p, n = self.params, self.params.n_drivers
        stock, cmv, cmv_prev, left, quarters_left = self._state_of(obs)
        if myopic:
            quarters_left = 1
        if not self.discrete:
            x = lookahead_allocation(
                p, quarters_left, stock, cmv, cmv_prev, budget=left, cap=p.max_effort
            )
            return (2.0 * x / p.max_effort - 1.0).astype(np.float32)
        weights = cmv_forecast(p, cmv, cmv_prev, quarters_left)
        decay = p.kappa[None, :] ** np.arange(quarters_left)[:, None]
        base = p.kappa * stock
        spend = min(self.increment, left)

        def value(extra: NDArray[np.float64]) -> float:
            eff = p.maintenance_effort + decay * (base + extra)
            return float(weights @ (adbudg(eff, p.a, p.b, p.c, p.d) @ p.impacts))

        now = value(np.zeros(n))
        gains = [0.0] + [value(np.eye(n)[j] * spend) - now - spend for j in range(n)]
        return int(np.argmax(gains))
