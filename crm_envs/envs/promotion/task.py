"""The task of ``crm_envs/PromotionBandit-v2`` and ``crm_envs/PromotionCampaign-v2``.

What the single and the vector env of both ids share: params, model, segments, spaces, kernel
parameters, plan checks, reset options, the reference and the baselines. The variant (bandit
or campaign) is the constructor argument ``campaign``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from crm_envs.core.kernels import Kernels
from crm_envs.core.models import TabularMDP
from crm_envs.core.oracle import (
    Exact,
    Heuristic,
    Planner,
    Policy,
    constant_policy,
    random_policy,
)
from crm_envs.core.params import (
    check_bool,
    check_choice,
    check_int,
    check_options,
    check_scalar,
)
from crm_envs.core.task import Task
from crm_envs.core.wrappers import check_batch_actions
from crm_envs.envs.promotion import kernels as _kernels
from crm_envs.envs.promotion.params import PromotionParams, arm_table
from crm_envs.envs.promotion.plan import RULES
from crm_envs.envs.promotion.presets import get_preset

__all__ = ["RULE_TEXT", "VARIANT_DEFAULT", "VARIANT_DEFAULTS", "PromotionTask"]

RULE_TEXT = {
    1: "any segment may get any promotion or none",
    2: "if any segment is promoted, all get the same promotion type (durations may differ)",
    3: "if any segment is promoted, all get the same promotion and duration",
    4: "if any segment is promoted, all are (type and duration free per segment)",
}
"""The business rules of a campaign plan (Mandania et al. 2025; rule 4 is Figure 8's)."""


class _VariantDefault:
    """Type of :data:`VARIANT_DEFAULT`."""

    def __repr__(self) -> str:
        return "VARIANT_DEFAULT"


VARIANT_DEFAULT = _VariantDefault()
"""Default of the arguments whose value depends on the variant (see :data:`VARIANT_DEFAULTS`)."""

VARIANT_DEFAULTS: dict[str, dict[str, Any]] = {
    "bandit": {"batch_size": 1000.0, "rule": 3, "horizon": 1000, "reward_scale": 1.0},
    "campaign": {"batch_size": None, "rule": 1, "horizon": 12, "reward_scale": 1e-3},
}
"""The registered defaults of ``PromotionBandit-v2`` and ``PromotionCampaign-v2`` that differ:
a pull promotes 1,000 customers and pays pounds, a campaign cycle covers the whole cohort
under rule 1 and pays thousands of pounds."""


class PromotionTask(Task):
    """Promotions valued by CLV: params, spaces, kernels, plan checks, reference, baselines.

    What the single and vector envs of both ids share
    (:mod:`~crm_envs.envs.promotion.env`). The variant is the constructor argument
    ``campaign``: False for ``PromotionBandit-v2`` (one arm for a batch of customers per
    pull; ``info`` with the true expected rewards, best arm and regret), True for
    ``PromotionCampaign-v2`` (one arm per segment under a business rule and an optional
    budget; ``info`` with ``rejected`` and ``over_budget``). ``batch_size``, ``rule``,
    ``horizon`` and ``reward_scale`` default to the registered values of the chosen variant
    (:data:`VARIANT_DEFAULTS`); every other default is the same for both.

    Actions go through the wrappers' shared validator (campaign plans: integers in ``0 ..
    A - 1``; bandit arms: one such integer). With ``on_violation="raise"`` a campaign plan
    that breaks the rule or the budget raises before the step (``encode_actions``); the kernel
    checks the rule and the budget of every plan again as it runs it and runs none for a
    rejected plan.

    Args:
        preset: Registered preset name.
        params: Explicit parameters (override ``preset``).
        campaign: The campaign variant (one arm per segment) instead of the bandit.
        segment: Bandit only: ``(group, level)`` to decide for, or None for rule 3 (one arm for
            every segment).
        batch_size: Bandit only: customers a pull promotes (> 0), drawn from the segment or,
            with ``segment=None``, in the cohort's proportions; None promotes the whole
            cohort (or segment) every pull. Default: 1,000 (bandit), None (campaign).
        rule: Campaign only: business rule 1, 2, 3 or 4 (see :data:`RULE_TEXT`). Default: 3
            (the bandit's only value), 1 (campaign).
        budget: Campaign only: bound on the resource a plan uses per cycle (the expected
            discount on customary sales, in pounds; ``PromotionModel.resource``), or None.
        horizon: Steps (campaign cycles / bandit pulls) per episode. Default: 1,000 pulls,
            12 cycles.
        drift_sd: Std. deviation of the per-cycle step of the log lift multipliers.
        drift_max: The lift multipliers stay in ``[1 / drift_max, drift_max]`` (reflected).
        reward_scale: Multiplier of the profit (the envs' defaults: 1 for the bandit, pounds
            per pull; 1e-3 for the campaign, thousands of pounds per cycle).
        on_violation: Campaign only: what a plan that breaks the rule or the budget gets:
            ``"reject"`` (run no promotion, flag it) or ``"raise"``.
    """

    state_width = _kernels.STATE_WIDTH
    #: A step is a whole campaign cycle, microseconds per copy: from 16 copies the parallel
    #: kernels pay for their start (bandit at 1,024 copies, 2 cores: serial 2.9 ms a step, as
    #: the pre-driver kernels, which always ran parallel, took 1.8 ms).
    parallel_min_envs = 16

    def __init__(
        self,
        preset: str = "mandania2025_ferry",
        params: PromotionParams | None = None,
        campaign: bool = False,
        segment: tuple[int, int] | None = None,
        batch_size: float | _VariantDefault | None = VARIANT_DEFAULT,
        rule: int | _VariantDefault = VARIANT_DEFAULT,
        budget: float | None = None,
        horizon: int | _VariantDefault = VARIANT_DEFAULT,
        drift_sd: float = 0.0,
        drift_max: float = 2.0,
        reward_scale: float | _VariantDefault = VARIANT_DEFAULT,
        on_violation: str = "reject",
    ) -> None:
        if params is None:
            params = get_preset(preset)
        elif not isinstance(params, PromotionParams):
            raise TypeError(f"params must be PromotionParams, got {type(params).__name__}")
        self.campaign = check_bool("campaign", campaign)
        defaults = VARIANT_DEFAULTS["campaign" if self.campaign else "bandit"]
        given = {"batch_size": batch_size, "rule": rule, "horizon": horizon,
                 "reward_scale": reward_scale}  # fmt: skip
        batch_size, rule, horizon, reward_scale = (
            defaults[k] if v is VARIANT_DEFAULT else v for k, v in given.items()
        )
        self.horizon = check_int("horizon", horizon, low=1)
        self.rule = check_int("rule", rule)
        if rule not in RULES:
            raise ValueError(
                f"rule must be one of {RULES} (the paper's business rules), got {rule!r}"
            )
        if not self.campaign and (rule != 3 or on_violation != "reject" or budget is not None):
            raise ValueError(
                f"rule={rule!r}, budget={budget!r} and on_violation={on_violation!r} apply to "
                "the campaign env only: a bandit pull promotes every segment alike (rule 3) or "
                "the one chosen by segment=; leave them at their defaults (3, None, 'reject')"
            )
        if self.campaign and (segment is not None or batch_size is not None):
            raise ValueError(
                f"segment={segment!r} and batch_size={batch_size!r} apply to the bandit only: "
                "the campaign env decides for every segment of the whole cohort at once; "
                "leave them None"
            )
        self.batch_size = None if batch_size is None else check_scalar(
            "batch_size", batch_size, low=0.0, low_open=True)  # fmt: skip
        self.budget = None if budget is None else check_scalar("budget", budget, low=0.0)
        #: How the benchmark scores this task: cumulative regret for the bandit.
        self.scoring = "return" if self.campaign else "regret"
        if segment is not None and (not isinstance(segment, (tuple, list)) or len(segment) != 2):
            raise TypeError(
                f"segment must be a (group, contribution level) pair or None, got {segment!r}"
            )
        self.on_violation = check_choice("on_violation", on_violation, ("reject", "raise"))
        self.drift_sd = check_scalar("drift_sd", drift_sd, low=0.0)
        self.drift_max = check_scalar("drift_max", drift_max, low=1.0, low_open=True)
        #: Multiplier of the profit (applied in the kernel).
        self.reward_scale = check_scalar("reward_scale", reward_scale, low=0.0, low_open=True)
        self._segment = segment
        self._configure(params)
        n = len(self.segments)
        #: The variant's compiled driver (:data:`~crm_envs.envs.promotion.kernels.BANDIT_KERNELS`
        #: or ``CAMPAIGN_KERNELS``).
        self.kernels: Kernels = self._variant_kernels()
        #: Columns of the float state: each segment's log lift multiplier.
        self.float_width = n
        if self.campaign:
            #: The info arrays (the kernels' ``extra``): whether the plan was rejected, and
            #: whether the budget was the reason.
            self.outputs = {"rejected": ((), np.bool_), "over_budget": ((), np.bool_)}
            self.action_space: spaces.Space[Any] = spaces.MultiDiscrete(
                np.full(n, self.n_arms), dtype=np.int64
            )
            low, high = self._observation_bounds()
            self.observation_space: spaces.Space[Any] = spaces.Box(low, high, dtype=np.float32)
            # Plans that must raise on a rule or budget violation are checked here first;
            # otherwise the wrappers' shared MultiDiscrete validator (and the single env's
            # fast path for an integer array) is all they need, as for the bandit's arms.
            if self.on_violation == "raise":
                self.encode_actions = self._encode_plans
        else:
            #: The info arrays: the true expected reward of every arm for this pull, the best
            #: arm and the pulled arm's regret (0 at a reset).
            self.outputs = {
                "expected_rewards": ((self.n_arms,), np.float64),
                "best_arm": ((), np.int64),
                "regret": ((), np.float64),
            }
            self.action_space = spaces.Discrete(self.n_arms)
            self.observation_space = spaces.Discrete(1)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["kernels"]  # compiled code does not pickle: the variant's module constant
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.kernels = self._variant_kernels()

    def _variant_kernels(self) -> Kernels:
        return _kernels.CAMPAIGN_KERNELS if self.campaign else _kernels.BANDIT_KERNELS

    def _configure(self, params: PromotionParams) -> None:
        """Build the model, segments, kernel tables and expected rewards of ``params``."""
        self.params = params
        self.model = m = params.build()
        n_g, n_c = m.members.shape
        s_max, n_k = m.horizon, params.n_promotions
        self.n_arms = 1 + n_k * s_max
        segs = [(g, c) for g in range(n_g) for c in range(n_c)]
        if self._segment is not None:
            g = check_int("segment[0] (group)", self._segment[0], low=0, high=n_g - 1)
            c = check_int("segment[1] (contribution level)", self._segment[1], low=0,
                          high=n_c - 1)  # fmt: skip
            segs = [(g, c)]
        self.segments = segs
        #: The space of one whole plan, arms of every segment (the campaign's action space).
        self._plan_space = spaces.MultiDiscrete(np.full(len(segs), self.n_arms), dtype=np.int64)
        self.kp = params.to_kernel(segs, self.batch_size, self.horizon, self.rule, self.budget,
                                   self.drift_sd, self.drift_max, self.reward_scale)  # fmt: skip
        self._uplift0, self._uplift1 = self.kp.uplift0, self.kp.uplift1
        #: Expected reward of each bandit arm (rule 3 or the chosen segment) without drift.
        self.expected_rewards = self.kp.exp0
        #: (J, A) resource per member of every segment and arm: the discount on customary
        #: sales (``kp.resource`` holds it times the members).
        self._resource = arm_table(m.resource_per_member(), segs)
        self._resource_total = self.kp.resource

    def reward_sd(self) -> NDArray[np.float64]:
        """(A,) standard deviation of one step's reward under each arm (drift-free).

        A segment's month-s transactions are Poisson with mean ``members * (baseline +
        lift)``; each is worth its discounted value (contribution net of the promotion cost),
        so the reward's variance is the sum of ``mean * value**2`` over segments and months.
        Poisson noise is the least a real cohort would show: customers differ in their
        purchase probability, which adds variance.
        """
        kp, s_max = self.kp, self.model.horizon
        var = np.zeros(self.n_arms)
        for a in range(self.n_arms):
            k, dur = ((a - 1) // s_max, (a - 1) % s_max + 1) if a > 0 else (0, 0)
            promoted = np.arange(s_max) < dur
            mean = kp.baseline + np.where(promoted, kp.lift[:, k, :], 0.0)
            cost = np.where(promoted, kp.cost[k] * kp.fare[:, None], 0.0)
            value = kp.disc * (kp.contribution[:, None] - cost)
            var[a] = (kp.members[:, None] * mean * value**2).sum()
        return np.sqrt(var) * self.reward_scale

    def difficulty(self) -> float:
        """Best-arm gap over the best arm's reward s.d. (one step): small = hard to tell apart."""
        exp = self.expected_rewards
        best = int(np.argmax(exp))
        return float((exp[best] - np.sort(exp)[-2]) / self.reward_sd()[best])

    def resource_used(self, arms: NDArray[np.int64]) -> NDArray[np.float64]:
        """(N,) resource (expected discount on customary sales, pounds) of rows of arms."""
        arms = np.atleast_2d(arms)
        per = self._resource[np.arange(arms.shape[1])[None, :], arms]
        return (per * self.kp.members[None, :]).sum(axis=1)

    def apply_options(
        self,
        options: Mapping[str, Any] | None,
        fstate: NDArray[np.float64],
        state: NDArray[np.int64],
    ) -> None:
        """Apply reset options: ``{"params": PromotionParams}`` swaps the parameters.

        The new params must keep the groups, contribution levels, promotion types and months
        (they fix the spaces), and the campaign's observations must stay within its bounds.
        There are no reset requests: every episode starts without drift.

        Args:
            options: The reset options, or None.
            fstate: The (n, J) float state (untouched: ``start_one`` zeroes the drift).
            state: The (n, W) int state (untouched).
        """
        options = check_options(options, ("params",))
        if "params" not in options:
            return
        new = options["params"]
        if not isinstance(new, PromotionParams):
            raise TypeError(f"options['params'] must be PromotionParams, got {type(new)}")
        old_shape = (self.model.members.shape, self.params.n_promotions, self.model.horizon)
        built = new.build()
        new_shape = (built.members.shape, new.n_promotions, built.horizon)
        if new_shape != old_shape:
            raise ValueError(
                f"options['params'] must keep (groups x levels, promotions, months) = "
                f"{old_shape} (they fix the spaces), got {new_shape}; make a new env instead"
            )
        previous = self.params
        self._configure(new)
        if self.campaign:
            low, high = self._observation_bounds()
            space = self.observation_space
            if np.any(low < space.low) or np.any(high > space.high):
                self._configure(previous)
                raise ValueError(
                    "options['params'] would let observations leave the observation space "
                    "(more members or larger lifts); make a new env with these params instead"
                )

    def _observation_bounds(self) -> tuple[NDArray, NDArray]:
        """Finite bounds of the campaign observation, from the largest possible draws.

        A segment's monthly mean is at most ``members * (baseline + max(0, lift) *
        mult_max)``; :func:`~crm_envs.envs.promotion.kernels.poisson_draw_bound` bounds the
        draw, and the month's value per transaction lies between the contribution net of the
        dearest promotion and the contribution.
        """
        kp = self.kp
        mult_max = self.drift_max if self.drift_sd > 0 else 1.0
        lift_max = np.maximum(kp.lift, 0.0).max(axis=1) * mult_max  # (J, S)
        draws = _kernels.poisson_draw_bound(kp.members[:, None] * (kp.baseline + lift_max))
        per_member = draws / kp.members[:, None]  # (J, S)
        net = kp.contribution[:, None] - kp.cost[None, :] * kp.fare[:, None]  # (J, K)
        lo_value = np.minimum(net.min(axis=1), 0.0)
        hi_value = np.maximum(kp.contribution, 0.0)
        count_hi = per_member.sum(axis=1)
        profit_lo = lo_value * (per_member @ kp.disc)
        profit_hi = hi_value * (per_member @ kp.disc)
        low = np.concatenate([np.zeros_like(count_hi), profit_lo]).astype(np.float32)
        high = np.concatenate([count_hi, profit_hi]).astype(np.float32)
        return low, high

    def expected_rewards_now(self, log_drift: NDArray[np.float64]) -> NDArray[np.float64]:
        """(N, A) true expected reward of each bandit arm under each copy's current drift.

        Args:
            log_drift: (N, J) log lift multipliers in force for the next pull.
        """
        if self.kp.drift_sd == 0.0:
            return np.broadcast_to(self.expected_rewards, (len(log_drift), self.n_arms))
        return self._uplift0 + np.exp(log_drift) @ self._uplift1

    def _encode_plans(self, actions: Any, n: int) -> NDArray[np.int64]:
        """Validate ``n`` plans, raising for one that breaks the rule or the budget.

        The campaign's ``encode_actions`` with ``on_violation="raise"`` (with ``"reject"`` the
        shared validator is all a plan needs: the kernel runs none for a rejected one).

        Args:
            actions: (n, J) integer plans, arms in ``0 .. A - 1``.
            n: Number of copies.

        Returns:
            The plans as C-contiguous int64.

        Raises:
            ValueError: For a wrong shape or dtype, an arm out of range, or a plan that
                breaks the rule or the budget.
        """
        arr = check_batch_actions(self.action_space, actions, n)
        rejected, over = self.check(arr)
        if rejected.any():
            breaks = ~self.allowed(arr)
            if breaks.any():
                raise ValueError(
                    f"action breaks business rule {self.rule}: {RULE_TEXT[self.rule]}; "
                    f"got {arr[breaks][0].tolist()}"
                )
            used = float(self.resource_used(arr[over][:1])[0])
            raise ValueError(
                f"action exceeds the budget: it uses {used:,.2f} of resource (expected "
                f"discount on customary sales) against a budget of {self.budget:,.2f}; "
                f"shorten or drop promotions (got {arr[over][0].tolist()})"
            )
        return arr

    def check(self, arms: Any) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """Which rows of per-segment arms the env rejects, and which are over the budget.

        The same check as the kernel's (:func:`~crm_envs.envs.promotion.kernels.plan_check_one`):
        a plan is rejected when it breaks the business rule or uses more resource than the
        budget.

        Args:
            arms: (J,) or (N, J) integer arms.

        Returns:
            ``(rejected, over_budget)``, each (N,) bool.
        """
        plans = self._plans(arms)
        rejected, over = np.empty(len(plans), dtype=bool), np.empty(len(plans), dtype=bool)
        self._check(plans, self.budget, rejected, over)
        return rejected, over

    def _raise_out_of_range(self, arr: NDArray[np.integer]) -> None:
        raise ValueError(
            f"arms must lie in 0..{self.n_arms - 1} (0 = no promotion, 1 + k * "
            f"{self.model.horizon} + (D - 1) = promotion k for D months); got "
            f"{int(arr[(arr < 0) | (arr >= self.n_arms)].ravel()[0])}"
        )

    def _check(
        self,
        arms: NDArray[np.int64],
        budget: float | None,
        rejected: NDArray[np.bool_],
        over: NDArray[np.bool_],
    ) -> None:
        """Run the plan-check kernel on (N, J) int64 ``arms``; raise for arms out of range."""
        check = _kernels.promo_check if len(arms) >= 1024 else _kernels.promo_check_serial
        bad = check(arms, self.n_arms, self.model.horizon, self.rule, self._resource_total,
                    -1.0 if budget is None else budget, rejected, over)  # fmt: skip
        if bad:
            self._raise_out_of_range(arms)

    def _plans(self, arms: Any) -> NDArray[np.int64]:
        """``arms`` as (N, J) int64 plans, validated."""
        arr = np.asarray(arms)
        j = len(self.segments)
        if arr.ndim not in (1, 2):
            raise ValueError(f"arms must have shape ({j},) or (N, {j}), got {arr.shape}")
        arr = np.atleast_2d(arr)  # validated as N plans by the shared validator
        return check_batch_actions(self._plan_space, arr, len(arr))

    def over_budget(self, arms: NDArray[np.int64]) -> NDArray[np.bool_]:
        """(N,) whether each row of per-segment arms uses more resource than the budget."""
        plans = self._plans(arms)
        rejected, over = np.empty(len(plans), dtype=bool), np.zeros(len(plans), dtype=bool)
        if self.budget is not None and self.campaign:
            self._check(plans, self.budget, rejected, over)
        return over

    def per_member_uplift(self, lift: NDArray[np.float64]) -> NDArray[np.float64]:
        """(J, A) per-member uplift of every arm (column 0: no promotion) for a (G, K, S) lift."""
        return arm_table(self.model.uplift_per_member(lift), self.segments)

    def survey_uplift_per_member(self) -> NDArray[np.float64]:
        """(J, A) per-member uplift of every arm by the survey-based estimates (a prior)."""
        return self.per_member_uplift(self.model.survey_lift)

    def true_uplift_per_member(self) -> NDArray[np.float64]:
        """(J, A) true per-member uplift of every arm. A diagnostic: learners must not use it."""
        return self.per_member_uplift(self.model.lift)

    @property
    def members(self) -> NDArray[np.float64]:
        """(J,) customers per segment."""
        return self.kp.members.copy()

    @property
    def baseline_profit_per_member(self) -> NDArray[np.float64]:
        """(J,) expected discounted profit per member without promotion (the CLV model's)."""
        return self.kp.base_profit / self.kp.members

    def uplift_table(self, per_member: NDArray[np.float64]) -> NDArray[np.float64]:
        """(G, C, K, S) total-uplift table for :func:`plan` from (J, A) per-member values."""
        n_g, n_c = self.model.members.shape
        k, s = self.params.n_promotions, self.model.horizon
        return (per_member[:, 1:] * self.kp.members[:, None]).reshape(n_g, n_c, k, s)

    def resource_table(self) -> NDArray[np.float64]:
        """(G, C, K, S) resource of every choice, for :func:`plan` with the env's budget."""
        n_g, n_c = self.model.members.shape
        k, s = self.params.n_promotions, self.model.horizon
        return (self._resource[:, 1:] * self.kp.members[:, None]).reshape(n_g, n_c, k, s)

    def random_allowed(self, rng: np.random.Generator) -> NDArray[np.int64]:
        """A random plan that obeys the rule and the budget (for exploration).

        Uniform over the rule's plans (rule 2: a random type, or none, and random durations;
        rule 4: a random arm >= 1 per segment, or none). Over the budget, random promoted
        segments are shortened by a month at a time (rule 1: down to no promotion) until the
        plan fits; rule 3 draws among the shared arms that fit. No promotion always fits.
        """
        arms = self._random_rule_plan(rng)
        if self.budget is None or not self.over_budget(arms)[0]:
            return arms
        j, s = len(self.segments), self.model.horizon
        if self.rule == 3:
            fits = [a for a in range(self.n_arms) if not self.over_budget(np.full(j, a))[0]]
            return np.full(j, fits[rng.integers(0, len(fits))], dtype=np.int64)
        arms = arms.copy()
        while self.over_budget(arms)[0]:
            dur = np.where(arms > 0, (arms - 1) % s + 1, 0)
            can = np.flatnonzero(dur > (0 if self.rule == 1 else 1))
            if can.size == 0:
                return np.zeros(j, dtype=np.int64)
            pick = can[rng.integers(0, can.size)]
            arms[pick] = arms[pick] - 1 if dur[pick] > 1 else 0
        return arms

    def _random_rule_plan(self, rng: np.random.Generator) -> NDArray[np.int64]:
        j, s, k = len(self.segments), self.model.horizon, self.params.n_promotions
        if self.rule == 1:
            return rng.integers(0, self.n_arms, j)
        if self.rule == 3:
            return np.full(j, rng.integers(0, self.n_arms))
        if self.rule == 4:
            if rng.integers(0, k + 1) == 0:
                return np.zeros(j, dtype=np.int64)
            return rng.integers(1, self.n_arms, j)
        kind = rng.integers(-1, k)
        if kind < 0:
            return np.zeros(j, dtype=np.int64)
        return 1 + kind * s + rng.integers(0, s, j)

    def best_action(self) -> Any:
        """The exactly optimal action: the best arm, or the optimal plan's arms under the rule.

        With ``drift_sd > 0`` the lifts move away from these values during an episode.
        """
        return self.best_action_for(self.true_uplift_per_member())

    def best_action_for(self, per_member: NDArray[np.float64]) -> Any:
        """The best arm (bandit) or rule-abiding plan (campaign) by per-member uplifts."""
        from crm_envs.envs.promotion.plan import plan

        if not self.campaign:
            return int(np.argmax(per_member.T @ self.kp.members))
        resource = None if self.budget is None else self.resource_table()
        p = plan(self.uplift_table(per_member), rule=self.rule, budget=self.budget,
                 resource=resource)  # fmt: skip
        s = self.model.horizon
        return np.where(p.promotion >= 0, 1 + p.promotion * s + p.duration - 1, 0).ravel()

    def oracle(self) -> Exact | Planner | Heuristic:
        """Bandit: the best arm, exact (a one-state MDP). Campaign: the optimal plan.

        With ``drift_sd > 0`` the means move during an episode and the drift-free best action
        is only a heuristic.
        """
        best = self.best_action()
        if self.kp.drift_sd > 0.0:
            return Heuristic(Policy("drift-free best", lambda obs, info: best),
                             "the best action of the drift-free means, every step")  # fmt: skip
        if self.campaign:
            return Planner(
                Policy("optimal plan", lambda obs, info: best),
                f"the optimal plan under rule {self.rule}"
                + ("" if self.budget is None else f" and a budget of {self.budget:,.0f}")
                + " (enumeration, or an exact MILP with a budget), every cycle: exact for the "
                "expected profit, as cycles are independent",
            )
        n = self.n_arms
        mdp = TabularMDP(np.ones((n, 1, 1)), self.expected_rewards[:, None], 1.0,
                         horizon=self.horizon, initial=np.ones(1))  # fmt: skip
        return Exact(mdp, lambda obs, info: 0, lambda obs, info: 0,
                     "the arm with the highest true expected reward, every pull")  # fmt: skip

    def baselines(self, seed: int) -> list[tuple[str, Policy | Exact]]:
        """Random, the survey prior's plan (naive) and, for the campaign, each shared arm.

        The naive policy is what the firm does without learning: the best action by the survey
        estimates of the lifts. The bandit has no constant baselines: the best constant arm is
        the reference itself, and finding it is the learning problem.
        """
        out: list[tuple[str, Policy | Exact]] = [("random", random_policy(self.action_space, seed))]
        if self.campaign:
            j = len(self.segments)
            out += [("constant", constant_policy(np.full(j, a, dtype=np.int64), f"arm {a} to all"))
                    for a in range(self.n_arms)]  # fmt: skip
        survey = self.best_action_for(self.survey_uplift_per_member())
        out.append(("naive", Policy("survey plan", lambda obs, info: survey,
                                    "the best action by the survey's lift estimates")))  # fmt: skip
        return out

    def allowed(self, arms: NDArray[np.int64]) -> NDArray[np.bool_]:
        """(N,) whether each row of per-segment arms obeys the business rule."""
        plans = self._plans(arms)
        rejected, over = np.empty(len(plans), dtype=bool), np.empty(len(plans), dtype=bool)
        self._check(plans, None, rejected, over)
        return ~rejected
