"""The task of ``crm_envs/CustomerJourney-v1``: what its single and vector env share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from crm_envs.core.models import TabularMDP
from crm_envs.core.oracle import Exact, Policy, constant_policy, random_policy
from crm_envs.core.params import check_choice, check_int, check_options
from crm_envs.core.task import Task
from crm_envs.envs.customer_journey import kernels
from crm_envs.envs.customer_journey.model import journey_mdp
from crm_envs.envs.customer_journey.params import (
    N_ACTIONS,
    CustomerJourneyParams,
    JourneyKernelParams,
)
from crm_envs.envs.customer_journey.presets import get_preset

__all__ = ["START_MODES", "JourneyTask"]

#: Accepted values of the ``start`` constructor argument.
START_MODES = ("f2f", "pauses", "any")
_RESET_OPTIONS = ("region", "cell", "params")


class JourneyTask(Task):
    """The customer journey: params, spaces, kernels, reset options, oracle and baselines.

    What :class:`~crm_envs.envs.customer_journey.env.CustomerJourneyEnv` and its vector env
    share; the defaults are the registered ``CustomerJourney-v1``'s.

    Args:
        preset: Name of a registered preset.
        params: Explicit parameters (override ``preset``).
        start: Start mode, one of ``START_MODES``.
        horizon: Maximum journey length (the paper: 10).
    """

    state_width = kernels.STATE_WIDTH
    float_width = kernels.FLOAT_WIDTH
    kernels = kernels.KERNELS  # (the module's name is rebound in the class body only)
    #: The info arrays (the kernels' ``extra``): the valid moves of the current cell.
    outputs = {"action_mask": ((N_ACTIONS,), np.int8)}

    def __init__(
        self,
        preset: str = "bonaccorso",
        params: CustomerJourneyParams | None = None,
        start: str = "f2f",
        horizon: int = 10,
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

    def apply_options(
        self,
        options: Mapping[str, Any] | None,
        fstate: NDArray[np.float64],
        state: NDArray[np.int64],
    ) -> None:
        """Write the reset requests (region, start cell) into ``state``; swap params if given.

        Args:
            options: ``{"region": k or one k per copy, "cell": (row, col),
                "params": CustomerJourneyParams}``; anything missing is sampled.
            fstate: The (n, 0) float state (unused: the journey has none).
            state: The (n, W) int state whose ``CELL`` and ``REGION`` columns receive the
                requests (-1: sample).
        """
        options = check_options(options, _RESET_OPTIONS)
        new = options.get("params")
        if new is not None:
            self._check_swap(new)
        p = self.params if new is None else new
        regions: Any = -1
        cell_index = -1
        if options.get("region") is not None:
            regions = np.broadcast_to(np.asarray(options["region"]), (state.shape[0],))
            for i, k in enumerate(regions):
                check_int(f"options['region'] (entry {i})", k, low=0, high=p.n_regions - 1)
        if options.get("cell") is not None:
            cell = options["cell"]
            if not (isinstance(cell, (tuple, list)) and len(cell) == 2):
                raise ValueError(f"options['cell'] must be a (row, col) pair, got {cell!r}")
            r = check_int("options['cell'][0] (row)", cell[0], low=0, high=p.n_rows - 1)
            c = check_int("options['cell'][1] (col)", cell[1], low=0, high=p.n_cols - 1)
            if p.layout[r][c] in "SX":
                raise ValueError(f"options['cell'] = {(r, c)} is a terminal cell; start elsewhere")
            cell_index = r * p.n_cols + c
        # Nothing changes until every option has passed: the requests share the running
        # journey's CELL and REGION columns, so a refused reset must leave them as they were.
        if new is not None:
            self.params = new
            self.kp = new.to_kernel(self.horizon, self.start)
        state[:, kernels.REGION] = regions
        state[:, kernels.CELL] = cell_index

    def _check_swap(self, new: Any) -> None:
        """Raise unless ``new`` can replace the params (same grid size and regions)."""
        if not isinstance(new, CustomerJourneyParams):
            raise TypeError(f"options['params'] must be CustomerJourneyParams, got {type(new)}")
        old = self.params
        if (new.n_rows, new.n_cols, new.n_regions) != (old.n_rows, old.n_cols, old.n_regions):
            raise ValueError(
                "options['params'] must keep the grid size and number of regions "
                f"{(old.n_rows, old.n_cols, old.n_regions)} (they fix the spaces), got "
                f"{(new.n_rows, new.n_cols, new.n_regions)}; create a new env instead"
            )

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
