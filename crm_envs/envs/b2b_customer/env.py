"""``crm_envs/B2BCustomer-v1`` and ``crm_envs/B2BCustomerEssay1-v0``: one B2B customer a month."""

from __future__ import annotations

from typing import Any, SupportsFloat

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
from crm_envs.core.single import NumbaEnv
from crm_envs.core.task import Task
from crm_envs.envs.b2b_customer import kernels
from crm_envs.envs.b2b_customer.params import B2BCustomerParams
from crm_envs.envs.b2b_customer.presets import get_preset
from crm_envs.envs.b2b_customer.solver import month_tables

__all__ = ["OBSERVATIONS", "B2BCustomerEnv", "B2BSetup"]

#: Observation modes and their kernel codes.
OBSERVATIONS = {"purchase": kernels.OBS_PURCHASE, "belief": kernels.OBS_BELIEF,
                "state": kernels.OBS_STATE}  # fmt: skip
_RESET_OPTIONS = ("params",)


class B2BSetup(Task):
    """What the single and vector envs share: params, spaces, action validation, the model.

    Args:
        preset: Registered preset name.
        params: Explicit parameters (override ``preset``).
        observation: ``"purchase"``, ``"belief"`` or ``"state"``.
        continuous: ``Box(-1, 1)`` actions (a spend in ``[0, max spend]``) instead of
            ``Discrete(K)``.
        horizon: Months per episode.
        reward_scale: Rewards are dollars times this.
    """

    def __init__(
        self,
        preset: str,
        params: B2BCustomerParams | None,
        observation: str,
        continuous: bool,
        horizon: int,
        reward_scale: float,
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
        self._set_params(params)
        tslp = float(params.max_tslp)
        if self.obs_mode == kernels.OBS_PURCHASE:
            low = np.array([0.0, 1.0, 0.0, 0.0], dtype=np.float32)
            high = np.array([params.n_levels - 1, tslp, 1.0, params.max_spend], dtype=np.float32)
        else:
            low = np.array([0.0, 1.0, 0.0], dtype=np.float32)
            high = np.array([1.0, tslp, 1.0], dtype=np.float32)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        if self.continuous:
            # Symmetric and normalised, as SB3 recommends: -1 is no spend, 1 the maximum.
            self.action_space: spaces.Space[Any] = spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)
        else:
            self.action_space = spaces.Discrete(params.n_spend)

    def apply_options(self, options: dict[str, Any] | None) -> bool:
        """Apply reset options (``{"params": B2BCustomerParams}``); True if params changed."""
        options = check_options(options, _RESET_OPTIONS)
        if "params" not in options:
            return False
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
        return True

    def _set_params(self, params: B2BCustomerParams) -> None:
        """Put ``params`` in force: kernel parameters, step tables, no cached solution."""
        self.params = params
        self.kp = params.to_kernel(self.horizon, self.obs_mode)
        grid = np.array(params.spend_grid)
        emis, q01, q11p, q11m = month_tables(self.kp, self.kp.customer, grid)
        self.tables = kernels.B2BStepTables(
            grid, emis.reshape(-1), q01, q11p, q11m, self.continuous, self.reward_scale
        )
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
        if self.obs_mode != kernels.OBS_BELIEF:
            raise ValueError(
                "reference_action needs observation='belief' (the belief is in the observation)"
            )
        o = np.asarray(obs, dtype=np.float64).reshape(-1, 3)
        sol = self.solution()
        a = [int(sol.action(min(max(b, 0.0), 1.0), round(t), bool(f > 0.5))) for b, t, f in o]
        return np.array([self.env_action(i) for i in a])

    def spends(self, actions: Any, n_envs: int) -> NDArray[np.float64]:
        """Validate a batch of actions; return the (N,) spends in dollars."""
        p = self.params
        if not self.continuous:
            return p.spend_grid[self.grid_actions(actions, n_envs)]
        arr = np.asarray(actions, dtype=np.float64)
        if arr.shape != (n_envs, 1):
            raise ValueError(f"actions must have shape ({n_envs}, 1), got {arr.shape}")
        if not np.all(np.isfinite(arr)) or arr.min() < -1.0 or arr.max() > 1.0:
            raise ValueError(
                f"continuous actions must be finite and lie in [-1, 1] (mapped linearly to "
                f"a spend in [0, {p.max_spend:g}]); got {actions!r}"
            )
        return np.ascontiguousarray((arr[:, 0] + 1.0) * (0.5 * p.max_spend))

    def grid_actions(self, actions: Any, n_envs: int) -> NDArray[np.int64]:
        """Validate a batch of ``Discrete(K)`` actions; return them as contiguous int64."""
        p = self.params
        arr = np.asarray(actions)
        if arr.shape != (n_envs,) or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(
                f"actions must be {n_envs} integers in Discrete({p.n_spend}), got shape "
                f"{arr.shape} and dtype {arr.dtype}"
            )
        if arr.min() < 0 or arr.max() >= p.n_spend:
            bad = int(np.flatnonzero((arr < 0) | (arr >= p.n_spend))[0])
            raise ValueError(
                f"action must lie in Discrete({p.n_spend}) (index into the spend grid "
                f"{p.spend_grid.tolist()}); got {int(arr[bad])}"
            )
        return np.ascontiguousarray(arr, dtype=np.int64)

    def step_args(self, actions: Any, n_envs: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Validate a batch of actions; return the step kernel's ``(action, spend)`` arrays.

        Grid actions come back as indices (the kernel reads its tables) with a dummy spend
        array; Box actions as spends in dollars (computed directly) with a dummy index array.
        """
        if self.continuous:
            return _NO_INDEX, self.spends(actions, n_envs)
        return self.grid_actions(actions, n_envs), _NO_SPEND


#: The diagnostics in ``info`` (written by the kernel): name and dtype.
INFO_ARRAYS = (
    ("belief", np.float64),
    ("open_loop_belief", np.float64),
    ("state", np.int64),
    ("purchase_level", np.int64),
)
_NO_INDEX = np.zeros(1, dtype=np.int64)
_NO_SPEND = np.zeros(1)


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
            kernels.emission_probs(kp, cust, s, m, emis[s])
        for k in range(n_class):
            q01, q11p, q11m = kernels.transition_probs(kp, cust, m, k)
            q11 = kernels.q11_expected(cust, q11p, q11m)
            kn = kernels.next_class(kp, k, 0, False)
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


class B2BCustomerEnv(NumbaEnv):
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
        if render_mode is not None:
            raise ValueError(f"{type(self).__name__} has no render modes, got {render_mode!r}")
        self._setup = B2BSetup(preset, params, observation, continuous, horizon, reward_scale)
        self.observation_space = self._setup.observation_space
        self.action_space = self._setup.action_space
        width = kernels.OBS_WIDTH[self._setup.obs_mode]
        self._fstate = np.zeros((1, kernels.FLOAT_WIDTH))
        self._state = np.zeros((1, kernels.INT_WIDTH), dtype=np.int64)
        self._obs = np.zeros((1, width), dtype=np.float32)
        self._rew = np.zeros(1)
        self._term = np.zeros(1, dtype=np.bool_)
        self._trunc = np.zeros(1, dtype=np.bool_)
        self._act = np.zeros(1, dtype=np.int64)
        self._spend = np.zeros(1)
        self._scratch = np.zeros((1, 2, self._setup.params.n_levels))
        self._belief = np.zeros(1)
        self._open = np.zeros(1)
        self._true = np.zeros(1, dtype=np.int64)
        self._level = np.zeros(1, dtype=np.int64)
        self._n_spend = self._setup.params.n_spend
        self._init_kernel()

    def _serial_step_kernel(self) -> Any:
        return kernels.b2b_step_serial

    def _step_kernel_args(self) -> tuple[Any, ...]:
        return (
            self._setup.kp, self._setup.tables, self._fstate, self._state, self._act,
            self._spend, self._scratch, self._obs, self._rew, self._term, self._trunc,
            self._belief, self._open, self._true, self._level,
        )  # fmt: skip

    def _info(self) -> dict[str, Any]:
        return {
            "belief": float(self._belief[0]),
            "open_loop_belief": float(self._open[0]),
            "state": int(self._true[0]),
            "purchase_level": int(self._level[0]),
        }

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float32], dict[str, Any]]:
        """Start a new episode (``options={"params": ...}`` swaps the parameters)."""
        self._seed_stream(seed)
        if self._setup.apply_options(options):
            self._bind_kernel()
        kernels.b2b_reset_serial(
            self._setup.kp, self._fstate, self._state, self._obs, self._belief, self._open,
            self._true, self._level,
        )  # fmt: skip
        self._ended = False
        return self._obs[0].copy(), self._info()

    def step(self, action: Any) -> tuple[NDArray[np.float32], SupportsFloat, bool, bool, dict]:
        """Spend for one month (see the class docstring)."""
        self._check_running()
        if (
            isinstance(action, (int, np.integer))
            and 0 <= action < self._n_spend
            and not (self._setup.continuous or isinstance(action, bool))
        ):
            self._act[0] = action  # the common case, validated without NumPy
        else:
            act, spend = self._setup.step_args(np.asarray(action)[None], 1)
            self._act[0], self._spend[0] = act[0], spend[0]
        self._step_kernel(*self._step_kernel_args())
        trunc = bool(self._trunc[0])
        self._ended = trunc
        return self._obs[0].copy(), float(self._rew[0]), False, trunc, self._info()

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
        """The POMDP policy's action for a ``"belief"`` observation (see ``B2BSetup``)."""
        return self._setup.reference_actions(np.asarray(obs)[None])[0]
