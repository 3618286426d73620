"""``crm_envs/B2BCustomer-v1`` and ``crm_envs/B2BCustomerEssay1-v0``: one B2B customer a month."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from crm_envs.core.models import TabularMDP
from crm_envs.core.wrappers import TaskEnv, TaskVectorEnv
from crm_envs.envs.b2b_customer.params import B2BCustomerParams
from crm_envs.envs.b2b_customer.task import OBSERVATIONS, B2BTask, state_mdp

__all__ = ["OBSERVATIONS", "B2BCustomerEnv", "B2BCustomerVectorEnv", "B2BTask", "state_mdp"]


class B2BCustomerEnv(TaskEnv):
    """One B2B customer's relationship, month by month (Fan 2015, Essay 2).

    ## Description

    The customer's relationship with the firm is low or high and hidden. Each month the firm
    chooses a marketing spend; the relationship moves (logit transition forces that depend on
    spend, last purchase's promotion offer, maintenance interactions and time since last
    purchase), and the customer buys at one of L purchase levels (ordered logit that depends on
    the state and spend). Purchases are noisy signals of the state: the exact Bayes belief is
    the sufficient statistic of the history (a POMDP).

    ## Action Space

    ``Discrete(K)``: index into the spend grid (Essay 2: $0, $10, ..., $150; Essay 1: 0..4).
    With ``continuous=True``: ``Box(-1, 1, (1,), float32)``, mapped linearly to a spend in
    ``[0, max spend]`` (-1 = nothing, 1 = the maximum, exactly). Invalid actions raise.

    ## Observation Space

    ``observation="purchase"`` (the raw POMDP): ``Box(float32, (4,))`` = last purchase level,
    TSLP (1..max_tslp), promotion flag of last month's purchase, last spend.
    ``"belief"`` (the belief MDP): ``(3,)`` = Bayes belief P(high), TSLP, promotion flag.
    ``"state"`` (an oracle for upper bounds, not a realistic task): ``(3,)`` = true state,
    TSLP, promotion flag.

    ## Rewards

    Revenue of the purchase level (Table 2) minus the spend, times ``reward_scale``.

    ## Starting State

    High with probability ``initial_high`` (Table 4: 0.079 for every preset of Essay 2), TSLP
    1, no promotion flag; the belief starts at ``initial_high``.

    ## Episode End

    Truncated after ``horizon`` months (default 60, Table 6); never terminated.

    ## Arguments

    ``preset`` (``"fan2015_customer_a"``), ``params``, ``observation`` (``"belief"``),
    ``continuous`` (False), ``horizon`` (60), ``reward_scale`` (1e-3: thousands of dollars, as
    registered; ``B2BCustomerEssay1-v0`` registers 1.0, the example's own units).
    ``reset(options={"params": p})`` swaps parameters with the same spaces.

    ``info`` always holds ``belief`` (Bayes), ``open_loop_belief`` (the HMM planner's),
    ``state`` (true, a diagnostic) and ``purchase_level``.

    ## Calibration & References

    Fan (2015), *A Double Loop Learning Model for Integrated and Proactive Customer
    Relationship Management*: Table 3 (structure and slopes), Table 4 (the average customer's
    probabilities, ``fan2015_essay2``), Table 2 (revenue), Tables 5 and 6 (the four customers
    ``fan2015_customer_a`` .. ``_d``, calibrated to their DCVs and value of learning; see
    :mod:`crm_envs.envs.b2b_customer.calibration`), Appendix A (planner) and B (simulation).
    The default customer is A: there the full-information oracle earns 15% more than the best
    constant spend over 60 months and the POMDP planner 7.8% more than the HMM planner
    (exact, :mod:`crm_envs.envs.b2b_customer.evaluate`). On the average customer
    (``preset="fan2015_essay2"``) the high state lasts about a month and learning is worth
    less than 0.1%. The exact planner is
    :func:`crm_envs.envs.b2b_customer.solver.solve`; ``reference_action(obs)`` follows its
    POMDP policy. :meth:`oracle_model` gives the fully observed MDP (the oracle's bound).

    ## Registered Configurations

    ``crm_envs/B2BCustomer-v1`` (``fan2015_customer_a``, rewards in $1,000s) and
    ``crm_envs/B2BCustomerEssay1-v0`` (``fan2015_essay1``, 100 months). The average customer
    of v0 is ``gym.make("crm_envs/B2BCustomer-v1", preset="fan2015_essay2")``.

    ## Version History

    * v0: initial release (default customer: Table 4's average, ``fan2015_essay2``).
    * v1: the default customer is Table 6's customer A (``fan2015_customer_a``), for whom
      learning the state is worth something (issue 19); dynamics and spaces are unchanged.
    """

    metadata: dict[str, Any] = {"render_modes": []}
    task_cls = B2BTask

    def __init__(
        self,
        preset: str = "fan2015_customer_a",
        params: B2BCustomerParams | None = None,
        observation: str = "belief",
        continuous: bool = False,
        horizon: int = 60,
        reward_scale: float = 1e-3,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(
            preset=preset, params=params, observation=observation, continuous=continuous,
            horizon=horizon, reward_scale=reward_scale, render_mode=render_mode,
        )  # fmt: skip

    def oracle_model(self) -> TabularMDP:
        """The fully observed MDP over (relationship state, recency class): the oracle's.

        Not named ``model()``: the env's decision problem is the POMDP (the belief is a
        continuous state), whose exact planner is :meth:`solution`; this MDP only bounds it.
        """
        return state_mdp(self.params)

    def solution(self) -> Any:
        """The POMDP planner's solution for these params (solved once, then cached)."""
        return self._setup.solution()

    def reference_action(self, obs: NDArray[np.floating]) -> Any:
        """The POMDP policy's action for a ``"belief"`` observation (see ``B2BTask``)."""
        return self._setup.reference_actions(np.asarray(obs)[None])[0]


class B2BCustomerVectorEnv(TaskVectorEnv):
    """N B2B customers stepped together by one numba kernel.

    Same dynamics, arguments and reset options as :class:`B2BCustomerEnv`; copy ``i`` reset
    with ``seed`` behaves exactly as a single env reset with ``seed + i``. Autoreset:
    ``NEXT_STEP``. ``info`` holds (N,) arrays ``belief``, ``open_loop_belief``, ``state``,
    ``purchase_level``.

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

    task_cls = B2BTask

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
        super().__init__(
            num_envs, copy, preset=preset, params=params, observation=observation,
            continuous=continuous, horizon=horizon, reward_scale=reward_scale,
        )  # fmt: skip

    def reference_action(self, obs: NDArray[np.floating]) -> NDArray[Any]:
        """The POMDP policy's action for each row of ``obs`` (``"belief"`` observations)."""
        return self._setup.reference_actions(obs)
