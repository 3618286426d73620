"""The task of ``crm_envs/B2BCustomer-v1`` and ``crm_envs/B2BCustomerEssay1-v0``.

What the single and the vector env share: params, spaces, kernels, action encoding, reset
options, the planners (reference and naive) and the baselines, and the fully observed MDP of
the oracle baseline (:func:`state_mdp`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from crm_envs.core.models import TabularMDP
from crm_envs.core.oracle import Exact, Planner, Policy, constant_policy, random_policy
from crm_envs.core.params import (
    check_bool,
    check_choice,
    check_int,
    check_options,
    check_scalar,
)
from crm_envs.core.task import Task
from crm_envs.core.wrappers import check_batch_actions
from crm_envs.envs.b2b_customer import kernels as _kernels
from crm_envs.envs.b2b_customer.params import B2BCustomerParams
from crm_envs.envs.b2b_customer.presets import get_preset
from crm_envs.envs.b2b_customer.solver import month_tables

__all__ = ["OBSERVATIONS", "B2BTask", "state_mdp"]

#: Observation modes and their kernel codes.
OBSERVATIONS = {"purchase": _kernels.OBS_PURCHASE, "belief": _kernels.OBS_BELIEF,
                "state": _kernels.OBS_STATE}  # fmt: skip
_RESET_OPTIONS = ("params",)


class B2BTask(Task):
    """One B2B customer, month by month: params, spaces, kernels, planners and baselines.

    What :class:`~crm_envs.envs.b2b_customer.env.B2BCustomerEnv` and its vector env share;
    the defaults are the registered ``B2BCustomer-v1``'s (``B2BCustomerEssay1-v0`` registers
    ``preset="fan2015_essay1"``, 100 months and a reward scale of 1).

    Grid actions (``Discrete(K)``) go through the wrappers' shared ``Discrete`` validator,
    which keeps the single env's fast path for plain ``int`` actions, and reach the kernel as
    spend-grid indices; Box actions (``continuous=True``) through :meth:`spends` (set as
    ``encode_actions``), which turns them into dollars. The kernel's ``kp`` is a
    :class:`~crm_envs.envs.b2b_customer.kernels.B2BDriverParams` (the model's kernel
    parameters with the month's probabilities tabled per spend index and recency class).

    Args:
        preset: Registered preset name.
        params: Explicit parameters (override ``preset``).
        observation: ``"purchase"``, ``"belief"`` or ``"state"``.
        continuous: ``Box(-1, 1)`` actions (a spend in ``[0, max spend]``) instead of
            ``Discrete(K)``.
        horizon: Months per episode.
        reward_scale: Rewards are dollars times this.
    """

    state_width = _kernels.STATE_WIDTH
    kernels = _kernels.KERNELS
    #: The info arrays (the kernels' ``extra``), one value per copy: the Bayes belief, the
    #: open-loop (HMM planner's) belief, the true state (a diagnostic) and the purchase level.
    outputs = {
        "belief": ((), np.float64),
        "open_loop_belief": ((), np.float64),
        "state": ((), np.int64),
        "purchase_level": ((), np.int64),
    }

    def __init__(
        self,
        preset: str = "fan2015_customer_a",
        params: B2BCustomerParams | None = None,
        observation: str = "belief",
        continuous: bool = False,
        horizon: int = 60,
        reward_scale: float = 1e-3,
    ) -> None:
        if params is None:
            params = get_preset(preset)
        elif not isinstance(params, B2BCustomerParams):
            raise TypeError(f"params must be B2BCustomerParams, got {type(params).__name__}")
        self.params = params
        self.observation = check_choice("observation", observation, list(OBSERVATIONS))
        self.obs_mode = OBSERVATIONS[self.observation]
        self.continuous = check_bool("continuous", continuous)
        if self.continuous and params.max_spend <= 0.0:
            raise ValueError(
                f"continuous=True needs a positive largest spend, got spend_grid "
                f"{params.spend_grid.tolist()}; add a positive spend or use continuous=False"
            )
        self.horizon = check_int("horizon", horizon, low=1)
        self.reward_scale = check_scalar("reward_scale", reward_scale, low=0.0, low_open=True)
        self.float_width = _kernels.float_width(params.n_levels, self.continuous)
        self._set_params(params)
        tslp = float(params.max_tslp)
        if self.obs_mode == _kernels.OBS_PURCHASE:
            low = np.array([0.0, 1.0, 0.0, 0.0], dtype=np.float32)
            high = np.array([params.n_levels - 1, tslp, 1.0, params.max_spend], dtype=np.float32)
        else:
            low = np.array([0.0, 1.0, 0.0], dtype=np.float32)
            high = np.array([1.0, tslp, 1.0], dtype=np.float32)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        if self.continuous:
            # Symmetric and normalised, as SB3 recommends: -1 is no spend, 1 the maximum.
            self.action_space: spaces.Space[Any] = spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)
            # Box only: grid indices go through the shared validator (see the class docstring).
            self.encode_actions = self.spends
        else:
            self.action_space = spaces.Discrete(params.n_spend)

    def apply_options(
        self,
        options: Mapping[str, Any] | None,
        fstate: NDArray[np.float64],
        state: NDArray[np.int64],
    ) -> None:
        """Validate the reset options; ``{"params": B2BCustomerParams}`` swaps the params.

        Every episode starts from the initial belief, so nothing is written into the state.

        Args:
            options: ``None`` or ``{"params": B2BCustomerParams}`` with the same spend grid
                size and maximum, number of purchase levels and ``max_tslp``.
            fstate: The (N, F) float state (unused).
            state: The (N, W) int state (unused).
        """
        options = check_options(options, _RESET_OPTIONS)
        if "params" not in options:
            return
        new = options["params"]
        if not isinstance(new, B2BCustomerParams):
            raise TypeError(f"options['params'] must be B2BCustomerParams, got {type(new)}")
        old = self.params
        same = (new.n_spend, new.n_levels, new.max_tslp, new.max_spend) == (
            old.n_spend, old.n_levels, old.max_tslp, old.max_spend)  # fmt: skip
        if not same:
            raise ValueError(
                "options['params'] must keep the spend grid size and maximum, the number of "
                "purchase levels and max_tslp (they fix the spaces)"
            )
        self._set_params(new)

    def _set_params(self, params: B2BCustomerParams) -> None:
        """Put ``params`` in force: the kernels' ``kp`` (with its tables), no cached solution."""
        self.params = params
        model = params.to_kernel(self.horizon, self.obs_mode)
        grid = np.array(params.spend_grid)
        tables = month_tables(model, model.customer, grid)
        self.kp = _kernels.driver_params(model, grid, self.continuous, self.reward_scale, tables)
        self._solution: dict[bool, Any] = {}

    def solution(self, adaptive: bool = True) -> Any:
        """The planner's solution for the params in force (solved once, cached).

        Args:
            adaptive: The POMDP planner (True) or the open-loop HMM planner (False).
        """
        if adaptive not in self._solution:
            from crm_envs.envs.b2b_customer.solver import solve

            self._solution[adaptive] = solve(self.params, adaptive=adaptive)
        return self._solution[adaptive]

    def env_action(self, index: int) -> Any:
        """The env action that spends ``spend_grid[index]`` (a grid index or a Box action)."""
        if not self.continuous:
            return int(index)
        spend = self.params.spend_grid[index]
        return np.array([2.0 * spend / self.params.max_spend - 1.0], dtype=np.float32)

    def _planner_policy(self, adaptive: bool) -> Policy:
        sol = self.solution(adaptive)
        belief_key = "belief" if adaptive else "open_loop_belief"

        def act(obs: Any, info: dict[str, Any]) -> Any:
            tslp, flag = round(float(obs[1])), bool(obs[2] > 0.5)
            return self.env_action(int(sol.action(float(info[belief_key]), tslp, flag)))

        name = "POMDP planner" if adaptive else "HMM planner"
        what = "the Bayes belief" if adaptive else "the open-loop (no learning) belief"
        return Policy(name, act, f"Fan (2015) Appendix A planner on {what}")

    def oracle(self) -> Planner:
        """The POMDP planner (Fan 2015, Appendix A): value iteration on a belief grid."""
        return Planner(
            self._planner_policy(adaptive=True),
            "POMDP planner: value iteration over a belief grid x TSLP x promotion flag",
        )

    def baselines(self, seed: int) -> list[tuple[str, Policy | Exact]]:
        """Random, every constant spend, the HMM planner (naive) and the state-observing MDP.

        The naive policy is Fan's open-loop (HMM) planner, which never learns from purchases;
        the oracle sees the hidden state in ``info["state"]`` and plays the optimal policy of
        :func:`state_mdp`.
        """
        p = self.params
        n_class = p.max_tslp + 1

        def state_index(obs: Any, info: dict[str, Any]) -> int:
            tslp, flag = round(float(obs[1])), bool(obs[2] > 0.5)
            recency = 0 if (tslp == 1 and flag) else tslp
            return int(info["state"]) * n_class + recency

        out: list[tuple[str, Policy | Exact]] = [("random", random_policy(self.action_space, seed))]
        out += [("constant", constant_policy(self.env_action(a), f"spend {m:g}"))
                for a, m in enumerate(p.spend_grid)]  # fmt: skip
        out.append(("naive", self._planner_policy(adaptive=False)))
        out.append(("oracle", Exact(state_mdp(p), state_index, None,
                                    "optimal policy of the fully observed MDP (sees the state)",
                                    self.env_action, full_information=True)))  # fmt: skip
        return out

    def reference_actions(self, obs: NDArray[np.floating]) -> Any:
        """The POMDP policy's actions for a batch of ``"belief"`` observations, shape (N, 3).

        With ``"purchase"`` or ``"state"`` observations the belief is not in the observation;
        use ``info["belief"]`` with :meth:`solution` instead.
        """
        if self.obs_mode != _kernels.OBS_BELIEF:
            raise ValueError(
                "reference_action needs observation='belief' (the belief is in the observation)"
            )
        o = np.asarray(obs, dtype=np.float64).reshape(-1, 3)
        sol = self.solution()
        a = [int(sol.action(min(max(b, 0.0), 1.0), round(t), bool(f > 0.5))) for b, t, f in o]
        return np.array([self.env_action(i) for i in a])

    def spends(self, actions: Any, n_envs: int) -> NDArray[np.float64]:
        """Validate a batch of ``n_envs`` actions; return the (N,) spends in dollars.

        With Box actions this is the task's ``encode_actions``: the step kernel reads the
        spends. Both kinds are validated by the shared validator
        (:func:`~crm_envs.core.wrappers.check_batch_actions`: nothing clipped or coerced);
        each Box value in [-1, 1] maps linearly to [0, max spend].
        """
        p = self.params
        arr = check_batch_actions(self.action_space, actions, n_envs)
        if not self.continuous:
            return p.spend_grid[arr]
        return (arr[:, 0].astype(np.float64) + 1.0) * (0.5 * p.max_spend)


def state_mdp(params: B2BCustomerParams) -> TabularMDP:
    """The fully observed model: states (relationship, recency class), discrete spends.

    State index ``s * (max_tslp + 1) + k`` with ``k`` the recency class (0 = TSLP 1 with a
    promotion flag, k >= 1 = TSLP k). ``R[a, x]`` is the expected revenue of the month minus
    the spend cost. This is the oracle's problem (``observation="state"``): its optimal value
    bounds what any policy that has to infer the state can earn.
    """
    kp = params.to_kernel()
    cust = kp.customer
    n_class = params.max_tslp + 1
    n_s, n_a = 2 * n_class, params.n_spend
    P = np.zeros((n_a, n_s, n_s))
    R = np.zeros((n_a, n_s))
    emis = np.empty((2, params.n_levels))
    for a, m in enumerate(params.spend_grid):
        for s in (0, 1):
            _kernels.emission_probs(kp, cust, s, m, emis[s])
        for k in range(n_class):
            q01, q11p, q11m = _kernels.transition_probs(kp, cust, m, k)
            q11 = _kernels.q11_expected(cust, q11p, q11m)
            kn = _kernels.next_class(kp, k, 0, False)
            rho = params.promotion_rate
            for s, up in ((0, q01), (1, q11)):
                x = s * n_class + k
                for s2, pr in ((0, 1.0 - up), (1, up)):
                    none = emis[s2, 0]
                    P[a, x, s2 * n_class + kn] += pr * none
                    P[a, x, s2 * n_class + 0] += pr * (1.0 - none) * rho
                    P[a, x, s2 * n_class + 1] += pr * (1.0 - none) * (1.0 - rho)
                    R[a, x] += pr * float(emis[s2] @ params.revenue)
                R[a, x] -= params.spend_cost * m
    initial = np.zeros(n_s)
    initial[1] = 1.0 - params.initial_high
    initial[n_class + 1] = params.initial_high
    return TabularMDP(P, R, params.discount, initial=initial)
