"""``crm_envs/ROIAllocation-v0`` and ``crm_envs/ROIAllocationDiscrete-v0``: quarterly budgets."""

from __future__ import annotations

from typing import Any, SupportsFloat

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
from crm_envs.core.single import NumbaEnv
from crm_envs.core.task import Task
from crm_envs.envs.roi_allocation import kernels
from crm_envs.envs.roi_allocation.adbudg import adbudg, adbudg_inverse
from crm_envs.envs.roi_allocation.params import ROIAllocationParams
from crm_envs.envs.roi_allocation.planner import plan_investments
from crm_envs.envs.roi_allocation.presets import get_preset
from crm_envs.envs.roi_allocation.solver import cmv_forecast, lookahead_allocation

__all__ = [
    "DEFAULT_INCREMENT",
    "ROIAllocationDiscreteEnv",
    "ROIAllocationEnv",
    "ROISetup",
    "observation_space",
]

_RESET_OPTIONS = ("params",)
DEFAULT_INCREMENT = 5_000.0
"""Dollars of one discrete investment step (``ROIAllocationDiscrete-v0``)."""
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


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


class ROISetup(Task):
    """What the single and vector envs share: params, spaces, action scaling, reference policy.

    Args:
        preset: Registered preset name.
        params: Explicit parameters (override ``preset``).
        horizon: Quarters per episode.
        discrete: Discrete actions (one increment to one driver per quarter) instead of a Box.
        increment: Dollars of one discrete investment step.
        reward_scale: Rewards are investment profit in dollars times this (default: $1,000s).
    """

    def __init__(
        self,
        preset: str,
        params: ROIAllocationParams | None,
        horizon: int,
        discrete: bool,
        increment: float,
        reward_scale: float,
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
                "ROIAllocationDiscrete-v0, or leave increment at its default"
            )
        self.reward_scale = check_scalar("reward_scale", reward_scale, low=0.0, low_open=True)
        self.kp = self._kernel_params(params)
        n = params.n_drivers
        self.observation_space = observation_space(params, self.horizon)
        if self.discrete:
            self.action_space: spaces.Space[Any] = spaces.Discrete(n + 1)
        else:
            self.action_space = spaces.Box(-1.0, 1.0, (n,), dtype=np.float32)

    def apply_options(self, options: dict[str, Any] | None) -> bool:
        """Apply reset options (``{"params": ROIAllocationParams}``); True if params changed."""
        options = check_options(options, _RESET_OPTIONS)
        if "params" not in options:
            return False
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
        return True

    def _kernel_params(self, params: ROIAllocationParams) -> kernels.ROIKernelParams:
        return params.to_kernel(self.horizon, self.discrete, self.increment, self.reward_scale)

    def kernel_actions(self, actions: Any, n_envs: int) -> NDArray[Any]:
        """Validate a batch of actions; return them as the step kernel reads them.

        Box actions in [-1, 1] (the kernel maps them linearly to [0, max_effort] dollars per
        driver) come back as a C-contiguous (N, n) float32 or float64 array; discrete actions
        (k >= 1 invests one ``increment`` in driver k - 1, 0 nothing) as (N, 1) int64.
        """
        n = self.params.n_drivers
        if self.discrete:
            arr = np.asarray(actions)
            if arr.shape != (n_envs,) or not np.issubdtype(arr.dtype, np.integer):
                raise ValueError(
                    f"actions must be {n_envs} integers in Discrete({n + 1}), got shape "
                    f"{arr.shape} and dtype {arr.dtype}"
                )
            if arr.min() < 0 or arr.max() > n:
                bad = int(np.flatnonzero((arr < 0) | (arr > n))[0])
                raise ValueError(
                    f"action must lie in Discrete({n + 1}) = {{0: no investment, 1..{n}: one "
                    f"increment to driver 1..{n}}}; got {int(arr[bad])}"
                )
            return np.ascontiguousarray(arr, dtype=np.int64).reshape(n_envs, 1)
        arr = np.asarray(actions)
        if arr.dtype != np.float32:
            arr = np.asarray(arr, dtype=np.float64)
        if arr.shape != (n_envs, n):
            raise ValueError(f"actions must have shape ({n_envs}, {n}), got {arr.shape}")
        arr = np.ascontiguousarray(arr)
        if kernels.first_bad_box_action(arr) >= 0:
            raise ValueError(
                f"Box actions must be finite and lie in [-1, 1] (mapped to [0, "
                f"{self.params.max_effort:,.0f}] dollars per driver); got {actions!r}"
            )
        return arr

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


class ROIAllocationEnv(NumbaEnv):
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

    ``preset`` (default ``"streukens2011"``), ``params``, ``horizon`` (12), ``reward_scale``
    (1e-3). ``reset(options={"params": p})`` swaps the numeric parameters (same drivers).

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
    (``Discrete(8)``: nothing, or one $5,000 increment to one driver per quarter).

    ## Version History

    * v0: initial release.
    """

    metadata: dict[str, Any] = {"render_modes": []}
    _discrete = False

    def __init__(
        self,
        preset: str = "streukens2011",
        params: ROIAllocationParams | None = None,
        horizon: int = 12,
        increment: float = DEFAULT_INCREMENT,
        reward_scale: float = 1e-3,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"{type(self).__name__} has no render modes, got {render_mode!r}")
        self._setup = ROISetup(preset, params, horizon, self._discrete, increment, reward_scale)
        self.observation_space = self._setup.observation_space
        self.action_space = self._setup.action_space
        n = self._setup.params.n_drivers
        self._fstate = np.zeros((1, n + 3))
        self._state = np.zeros((1, kernels.INT_WIDTH), dtype=np.int64)
        self._obs = np.zeros((1, n + 4), dtype=np.float32)
        self._rew = np.zeros(1)
        self._term = np.zeros(1, dtype=np.bool_)
        self._trunc = np.zeros(1, dtype=np.bool_)
        self._limited = np.zeros(1, dtype=np.bool_)
        # The kernel's action buffer: (1, 1) int64 index, or (1, n) float64 Box values.
        self._act = np.zeros((1, 1), np.int64) if self._discrete else np.zeros((1, n))
        self._init_kernel()

    def _serial_step_kernel(self) -> Any:
        return kernels.roi_step_serial

    def _step_kernel_args(self) -> tuple[Any, ...]:
        return (
            self._setup.kp, self._fstate, self._state, self._act, self._obs, self._rew,
            self._term, self._trunc, self._limited,
        )  # fmt: skip

    @property
    def params(self) -> ROIAllocationParams:
        """The numeric parameters in force."""
        return self._setup.params

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Start a new episode (``options={"params": ...}`` swaps the parameters)."""
        self._seed_stream(seed)
        if self._setup.apply_options(options):
            self._bind_kernel()
        kernels.roi_reset_serial(self._setup.kp, self._fstate, self._state, self._obs)
        self._ended = False
        return self._obs[0].copy(), {"budget_limited": False}

    def step(self, action: Any) -> tuple[NDArray[np.float32], SupportsFloat, bool, bool, dict]:
        """Invest for one quarter (see the class docstring)."""
        self._check_running()
        act = self._act
        if self._discrete:
            fast = isinstance(action, (int, np.integer)) and not isinstance(action, bool)
            fast = fast and 0 <= action < self.action_space.n
        else:
            fast = type(action) is np.ndarray and action.shape == act.shape[1:]
            fast = fast and action.dtype in _FLOATS
        if fast:  # the common case: validated without building NumPy arrays
            act[0] = action
            if not self._discrete and kernels.first_bad_box_action(act) >= 0:
                fast = False  # out of the box: the full check below raises
        if not fast:
            arr = np.asarray(action)
            if arr.shape != self.action_space.shape:
                raise ValueError(
                    f"action must have the action space's shape {self.action_space.shape} "
                    f"({self.action_space}), got shape {arr.shape}"
                )
            act[:] = self._setup.kernel_actions(arr[None], 1)
        self._step_kernel(*self._step_kernel_args())
        trunc = bool(self._trunc[0])
        self._ended = trunc
        info = {"budget_limited": bool(self._limited[0])}
        return self._obs[0].copy(), float(self._rew[0]), False, trunc, info

    def reference_action(self, obs: NDArray[np.floating]) -> Any:
        """Reference action for ``obs`` (see ``ROISetup.reference_action``)."""
        return self._setup.reference_action(obs)


class ROIAllocationDiscreteEnv(ROIAllocationEnv):
    """ROIAllocation with ``Discrete(n + 1)`` actions, for tabular agents and DQN.

    Action 0 invests nothing this quarter; action k in 1..n invests one ``increment``
    (default $5,000) in driver k. Everything else is as in :class:`ROIAllocationEnv`.
    """

    _discrete = True
