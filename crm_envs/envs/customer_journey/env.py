"""``crm_envs/CustomerJourney-v1``: a customer journey of touchpoints as an MDP."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from crm_envs.core.models import TabularMDP
from crm_envs.core.wrappers import TaskEnv, TaskVectorEnv
from crm_envs.envs.customer_journey.params import CustomerJourneyParams
from crm_envs.envs.customer_journey.render import render_ansi, render_rgb
from crm_envs.envs.customer_journey.task import START_MODES, JourneyTask

__all__ = ["START_MODES", "CustomerJourneyEnv", "CustomerJourneyVectorEnv", "JourneyTask"]


class CustomerJourneyEnv(TaskEnv):
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
    task_cls = JourneyTask

    def __init__(
        self,
        preset: str = "bonaccorso",
        params: CustomerJourneyParams | None = None,
        start: str = "f2f",
        horizon: int = 10,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(
            preset=preset, params=params, start=start, horizon=horizon, render_mode=render_mode
        )

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


class CustomerJourneyVectorEnv(TaskVectorEnv):
    """N customer journeys stepped together by one numba kernel.

    Same dynamics, arguments and reset options as :class:`CustomerJourneyEnv`
    (``options["region"]`` may also be one region per copy). Copy ``i`` reset with ``seed``
    behaves exactly as a single env reset with ``seed + i``. Autoreset mode: ``NEXT_STEP``.
    ``info["action_mask"]`` holds the (N, 4) int8 masks of the current cells.

    Args:
        num_envs: Number of journeys N.
        preset: Registered preset name.
        params: Explicit parameters (override ``preset``).
        start: ``"f2f"`` | ``"pauses"`` | ``"any"``.
        horizon: Maximum journey length.
        copy: Whether returned arrays are new each call (see :mod:`crm_envs.core.vector`).
    """

    task_cls = JourneyTask

    def __init__(
        self,
        num_envs: int = 1,
        preset: str = "bonaccorso",
        params: CustomerJourneyParams | None = None,
        start: str = "f2f",
        horizon: int = 10,
        copy: bool = True,
    ) -> None:
        super().__init__(num_envs, copy, preset=preset, params=params, start=start, horizon=horizon)

    def model(self) -> TabularMDP:
        """Exact finite-horizon MDP of one journey (see ``CustomerJourneyEnv.model``)."""
        return self._setup.model()

    def state_index(self, obs: NDArray[np.integer]) -> NDArray[np.int64]:
        """Model state index of observation(s) ``(row, col, region, t)``."""
        return self._setup.state_index(obs)
