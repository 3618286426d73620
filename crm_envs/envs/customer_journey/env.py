"""``crm_envs/CustomerJourney-v1``: a customer journey of touchpoints as an MDP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from crm_envs.core.models import TabularMDP
from crm_envs.core.oracle import Exact, Policy, constant_policy, random_policy
from crm_envs.core.params import check_choice, check_int, check_options
from crm_envs.core.single import JitInterface, NumbaEnv
from crm_envs.core.task import Task
from crm_envs.envs.customer_journey import kernels
from crm_envs.envs.customer_journey.model import journey_mdp
from crm_envs.envs.customer_journey.params import (
    N_ACTIONS,
    CustomerJourneyParams,
    JourneyKernelParams,
)
from crm_envs.envs.customer_journey.presets import get_preset
from crm_envs.envs.customer_journey.render import render_ansi, render_rgb

__all__ = ["START_MODES", "CustomerJourneyEnv", "JourneySetup"]

#: Accepted values of the ``start`` constructor argument.
START_MODES = ("f2f", "pauses", "any")
_RESET_OPTIONS = ("region", "cell", "params")


class JourneySetup(Task):
    """What the single and the vector env share: params, spaces, kernel tables, reset options.

    Args:
        preset: Name of a registered preset.
        params: Explicit parameters (override ``preset``).
        start: Start mode, one of ``START_MODES``.
        horizon: Maximum journey length (the paper: 10).
    """

    def __init__(
        self,
        preset: str,
        params: CustomerJourneyParams | None,
        start: str,
        horizon: int,
    ) -> None:
        if params is None:
            params = get_preset(preset)
        elif not isinstance(params, CustomerJourneyParams):
            raise TypeError(f"params must be a CustomerJourneyParams, got {type(params).__name__}")
        self.start = check_choice("start", start, START_MODES)
        self.horizon = check_int("horizon", horizon, low=1)
        #: Rewards are on the paper's scale (the sales rep's -5..5), not rescaled.
        self.reward_scale = 1.0
        self.params = params
        self.kp: JourneyKernelParams = params.to_kernel(self.horizon, self.start)
        self.observation_space = spaces.MultiDiscrete(
            [params.n_rows, params.n_cols, params.n_regions, self.horizon + 1], dtype=np.int64
        )
        self.action_space = spaces.Discrete(N_ACTIONS)

    def apply_options(self, options: Mapping[str, Any] | None, state: NDArray[np.int64]) -> None:
        """Write the reset requests (region, start cell) into ``state``; swap params if given.

        Args:
            options: ``{"region": k or one k per copy, "cell": (row, col),
                "params": CustomerJourneyParams}``; anything missing is sampled.
            state: The (n, 6) state array whose CELL/REGION columns receive the requests.
        """
        options = check_options(options, _RESET_OPTIONS)
        if "params" in options:
            self._swap_params(options["params"])
        p = self.params
        state[:, kernels.REGION] = -1
        state[:, kernels.CELL] = -1
        if options.get("region") is not None:
            regions = np.broadcast_to(np.asarray(options["region"]), (state.shape[0],))
            for i, k in enumerate(regions):
                check_int(f"options['region'] (entry {i})", k, low=0, high=p.n_regions - 1)
            state[:, kernels.REGION] = regions
        if options.get("cell") is not None:
            cell = options["cell"]
            if not (isinstance(cell, (tuple, list)) and len(cell) == 2):
                raise ValueError(f"options['cell'] must be a (row, col) pair, got {cell!r}")
            r = check_int("options['cell'][0] (row)", cell[0], low=0, high=p.n_rows - 1)
            c = check_int("options['cell'][1] (col)", cell[1], low=0, high=p.n_cols - 1)
            if p.layout[r][c] in "SX":
                raise ValueError(f"options['cell'] = {(r, c)} is a terminal cell; start elsewhere")
            state[:, kernels.CELL] = r * p.n_cols + c

    def _swap_params(self, new: Any) -> None:
        if not isinstance(new, CustomerJourneyParams):
            raise TypeError(f"options['params'] must be CustomerJourneyParams, got {type(new)}")
        old = self.params
        if (new.n_rows, new.n_cols, new.n_regions) != (old.n_rows, old.n_cols, old.n_regions):
            raise ValueError(
                "options['params'] must keep the grid size and number of regions "
                f"{(old.n_rows, old.n_cols, old.n_regions)} (they fix the spaces), got "
                f"{(new.n_rows, new.n_cols, new.n_regions)}; create a new env instead"
            )
        self.params = new
        self.kp = new.to_kernel(self.horizon, self.start)

    def model(self) -> TabularMDP:
        """The exact finite-horizon MDP (see :func:`journey_mdp`)."""
        return journey_mdp(self.params, self.horizon, self.start)

    def state_index(self, obs: NDArray[np.integer]) -> NDArray[np.int64]:
        """Model state index ``cell * K + region`` of observation(s) ``(row, col, region, t)``."""
        o = np.asarray(obs)
        nvec = self.observation_space.nvec
        return np.ravel_multi_index(tuple(o[..., j] for j in range(3)), tuple(nvec[:3]))

    def oracle(self) -> Exact:
        """The exact optimum: backward induction on :meth:`model`."""
        return Exact(
            self.model(),
            lambda obs, info: int(self.state_index(obs)),
            lambda obs, info: int(np.asarray(obs)[3]),
            "backward induction on the exact finite-horizon MDP over (cell, region)",
        )

    def baselines(self, seed: int) -> list[tuple[str, Policy | Exact]]:
        """Random moves, each constant move, and the myopic journey (best expected next reward).

        The myopic policy picks the move with the highest expected reward of this touchpoint
        (the model's ``R[t, a, s]``), ignoring where the journey goes next.
        """
        reward = self.model().R  # (H, A, S)
        names = ("up", "right", "down", "left")
        out: list[tuple[str, Policy | Exact]] = [("random", random_policy(self.action_space, seed))]
        out += [("constant", constant_policy(a, f"always {names[a]}")) for a in range(N_ACTIONS)]

        def myopic(obs: Any, info: dict[str, Any]) -> int:
            t = min(int(np.asarray(obs)[3]), reward.shape[0] - 1)
            return int(np.argmax(reward[t, :, int(self.state_index(obs))]))

        out.append(("naive", Policy("myopic", myopic, "best expected reward of the next move")))
        return out


class CustomerJourneyEnv(NumbaEnv):
    """A customer journey of marketing touchpoints as a finite-horizon MDP.

    ## Description

    A sales rep guides a customer through a grid of touchpoints (Bonaccorso, *Customer
    journeys as Markov Decision Processes*): F2F calls, emails/newsletters, webinar and
    conference invitations and 15-day pauses, until the journey ends in a success (verified
    conversion) or failure cell, or after ``horizon`` touchpoints (the paper: 10). Each region
    (the paper's indicator variable selecting the environment) has its own slip probability and
    rewards.

    ## Action Space

    ``Discrete(4)``: the next touchpoint is the neighbouring cell 0 = up, 1 = right, 2 = down,
    3 = left. The intended move happens with probability ``p_intended`` of the region, else
    the journey slips to another valid neighbour (uniformly). A move off the grid is invalid:
    the journey stays in its cell, the step counts, and the reward is the discounted
    ``invalid_move_reward``. ``info["action_mask"]`` (int8, 1 = valid) lists the valid moves and
    can be passed to ``action_space.sample(mask=...)``. An action outside the space raises.

    ## Observation Space

    ``MultiDiscrete([rows, cols, regions, horizon + 1])`` (int64): ``(row, col, region, t)``
    with ``t`` the number of touchpoints so far.

    ## Rewards

    At step ``t`` (0-based) the reward is ``lambda_env**t * rho + lambda_con**t * M``: ``rho``
    is the sales rep's feedback on the (from type, to type) transition in [-5, 5] (success +5,
    failure -5), ``M`` the marketing department's constraint reward. The undiscounted return
    of an episode is the paper's two-discount return (``lambda_env = 0.75``,
    ``lambda_con = 0.15``).

    ## Starting State

    ``start="f2f"``: the start cell (0, 0); ``"pauses"``: a uniformly chosen pause cell on
    the grid boundary; ``"any"``: any non-terminal cell (exploring starts). The region is drawn
    from ``region_probs``. ``reset(options={"region": k, "cell": (row, col)})`` fixes them;
    ``options={"params": p}`` swaps the numeric parameters (same grid size and regions).

    ## Episode End

    Terminated on entering a success or failure cell; truncated after ``horizon`` steps.
    Stepping after the episode ended raises: call ``reset()``.

    ## Arguments

    * ``preset``: registered preset name (default ``"bonaccorso"``).
    * ``params``: a :class:`CustomerJourneyParams` (overrides ``preset``).
    * ``start``: ``"f2f"`` | ``"pauses"`` | ``"any"``.
    * ``horizon``: maximum journey length (default 10).
    * ``render_mode``: ``"ansi"`` (text grid) or ``"rgb_array"`` (coloured cells).

    ## Calibration & References

    Bonaccorso, G., *Customer journeys as Markov Decision Processes* (article): touchpoint
    types, 10-step journeys, (-5, 5) reward scale, the two discounts 0.75 and 0.15, regions,
    frequency-count transition estimates. The grid and reward tables are documented
    assumptions of the ``bonaccorso`` preset. ``env.unwrapped.model()`` returns the exact
    :class:`~crm_envs.core.models.TabularMDP` for ``agents.dp.backward_induction``.

    ## Registered Configurations

    ``crm_envs/CustomerJourney-v1`` (preset ``bonaccorso``, start ``f2f``, horizon 10).

    ## Version History

    * v1: the sales-rep reward of a move is the change in the customer's warmth plus the
      touchpoint's cost, and constraint rewards are costs only, so no loop of touchpoints
      pays (issue 15; see the ``bonaccorso`` preset). Spaces and transitions unchanged.
    * v0: initial release; its reward table paid for loops (13 of 68 urban starts cycled).
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        preset: str = "bonaccorso",
        params: CustomerJourneyParams | None = None,
        start: str = "f2f",
        horizon: int = 10,
        render_mode: str | None = None,
    ) -> None:
        self._setup = JourneySetup(preset, params, start, horizon)
        self.observation_space = self._setup.observation_space
        self.action_space = self._setup.action_space
        if render_mode is not None:
            check_choice("render_mode", render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode
        self._state = np.zeros((1, kernels.STATE_WIDTH), dtype=np.int64)
        self._obs = np.zeros((1, 4), dtype=np.int64)
        self._rew = np.zeros(1)
        self._term = np.zeros(1, dtype=np.bool_)
        self._trunc = np.zeros(1, dtype=np.bool_)
        self._mask = np.zeros((1, N_ACTIONS), dtype=np.int8)
        self._act = np.zeros(1, dtype=np.int64)
        self._init_kernel()

    def _serial_step_kernel(self) -> Any:
        return kernels.journey_step_serial

    def _step_kernel_args(self) -> tuple[Any, ...]:
        return (
            self._setup.kp, self._state, self._act, self._obs, self._rew, self._term,
            self._trunc, self._mask,
        )  # fmt: skip

    @property
    def params(self) -> CustomerJourneyParams:
        """The numeric parameters in force."""
        return self._setup.params

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.int64], dict[str, Any]]:
        """Start a new journey (see the class docstring for ``options``)."""
        self._seed_stream(seed)
        self._setup.apply_options(options, self._state)
        if options and "params" in options:
            self._bind_kernel()
        kernels.journey_reset_serial(self._setup.kp, self._state, self._obs, self._mask)
        self._ended = False
        return self._obs[0].copy(), {"action_mask": self._mask[0].copy()}

    def step(
        self, action: Any
    ) -> tuple[NDArray[np.int64], SupportsFloat, bool, bool, dict[str, Any]]:
        """Take the touchpoint move ``action`` (see the class docstring)."""
        self._check_running()
        fast = isinstance(action, (int, np.integer)) and not isinstance(action, bool)
        if not (fast and 0 <= action < N_ACTIONS) and not self.action_space.contains(action):
            raise ValueError(
                f"action must be an integer in Discrete({N_ACTIONS}) = {{0: up, 1: right, "
                f"2: down, 3: left}}, got {action!r}"
            )
        self._act[0] = action
        self._step_kernel(*self._step_kernel_args())
        term, trunc = bool(self._term[0]), bool(self._trunc[0])
        self._ended = term or trunc
        info = {"action_mask": self._mask[0].copy()}
        return self._obs[0].copy(), float(self._rew[0]), term, trunc, info

    def jit_interface(self) -> JitInterface:
        """The env's numba step kernel and buffers, for learners that loop inside numba.

        The returned step function has the signature ``step(kp, state, action, obs, rew,
        term, trunc, mask)`` on batch-size-1 buffers, with NEXT_STEP autoreset: the call after
        an episode ended returns the next episode's first observation (reward 0). The state is
        this env's own (call ``reset(seed=...)`` first); stepping it from numba advances this env.

        Returns:
            A :class:`~crm_envs.core.single.JitInterface`.
        """
        if self._ended:
            raise RuntimeError("call reset() before jit_interface()")
        return JitInterface(
            step=kernels.journey_step_serial, kp=self._setup.kp, state=self._state,
            obs=self._obs, rew=self._rew, term=self._term, trunc=self._trunc,
            extra=self._mask, n_actions=N_ACTIONS,
            obs_nvec=self.observation_space.nvec.astype(np.int64),
        )  # fmt: skip

    def render(self) -> str | NDArray[np.uint8] | None:
        """Render the grid with the current cell ("ansi" text or "rgb_array" image)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without render_mode; pass render_mode to make()")
            return None
        row, col = int(self._obs[0, 0]), int(self._obs[0, 1])
        if self.render_mode == "ansi":
            return render_ansi(self.params.layout, row, col)
        return render_rgb(self.params.layout, row, col)

    def model(self) -> TabularMDP:
        """Exact finite-horizon MDP; state index ``s = cell * K + region`` (see ``state_index``)."""
        return self._setup.model()

    def state_index(self, obs: NDArray[np.integer]) -> NDArray[np.int64]:
        """Model state index of observation(s) ``(row, col, region, t)``; t is the time index."""
        return self._setup.state_index(obs)
