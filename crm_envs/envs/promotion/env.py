"""``crm_envs/PromotionBandit-v2`` and ``crm_envs/PromotionCampaign-v2``."""

from __future__ import annotations

import operator
from typing import Any, SupportsFloat

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

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
from crm_envs.core.single import NumbaEnv
from crm_envs.core.task import Task
from crm_envs.envs.promotion import kernels
from crm_envs.envs.promotion.params import PromotionParams
from crm_envs.envs.promotion.plan import RULES
from crm_envs.envs.promotion.presets import get_preset

__all__ = ["PromotionBanditEnv", "PromotionCampaignEnv", "PromotionSetup"]

_NO_FLAGS = np.zeros(0, dtype=bool)
"""The bandit's (0,) ``rejected`` flags: a pull is never rejected."""


class PromotionSetup(Task):
    """What the single and vector promotion envs share.

    Args:
        preset: Registered preset name.
        params: Explicit parameters (override ``preset``).
        campaign: Campaign env (one arm per segment) instead of the bandit.
        segment: Bandit only: ``(group, level)`` to decide for, or None for rule 3 (one arm for
            every segment).
        batch_size: Bandit only: customers a pull promotes (> 0), drawn from the segment or,
            with ``segment=None``, in the cohort's proportions; None promotes the whole
            cohort (or segment) every pull.
        rule: Campaign only: business rule 1, 2, 3 or 4.
        budget: Campaign only: bound on the resource a plan uses per cycle (the expected
            discount on customary sales, in pounds; ``PromotionModel.resource``), or None.
        horizon: Steps (campaign cycles / bandit pulls) per episode.
        drift_sd: Std. deviation of the per-cycle step of the log lift multipliers.
        drift_max: The lift multipliers stay in ``[1 / drift_max, drift_max]`` (reflected).
        reward_scale: Multiplier of the profit (the envs' defaults: 1 for the bandit, pounds
            per pull; 1e-3 for the campaign, thousands of pounds per cycle).
        on_violation: Campaign only: what a plan that breaks the rule or the budget gets:
            ``"reject"`` (run no promotion, flag it) or ``"raise"``.
    """

    def __init__(
        self,
        preset: str,
        params: PromotionParams | None,
        campaign: bool,
        segment: tuple[int, int] | None,
        batch_size: float | None,
        rule: int,
        budget: float | None,
        horizon: int,
        drift_sd: float,
        drift_max: float,
        reward_scale: float,
        on_violation: str,
    ) -> None:
        if params is None:
            params = get_preset(preset)
        elif not isinstance(params, PromotionParams):
            raise TypeError(f"params must be PromotionParams, got {type(params).__name__}")
        self.campaign = check_bool("campaign", campaign)
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
        if self.campaign:
            self.action_space: spaces.Space[Any] = spaces.MultiDiscrete(
                np.full(n, self.n_arms), dtype=np.int64
            )
            low, high = self._observation_bounds()
            self.observation_space: spaces.Space[Any] = spaces.Box(low, high, dtype=np.float32)
        else:
            self.action_space = spaces.Discrete(self.n_arms)
            self.observation_space = spaces.Discrete(1)

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
        gi = np.array([g for g, _ in segs])
        ci = np.array([c for _, c in segs])
        disc = m.discount ** np.arange(1, s_max + 1)
        contribution = m.contribution[gi, ci]
        members = m.members[gi, ci].copy()
        if self.batch_size is not None:  # a pull promotes batch_size customers, cohort's mix
            members = self.batch_size * members / members.sum()
        # The uplift is linear in the lift: U(x * lift) = U0 + x * U1 per segment and arm.
        no_lift = self.per_member_uplift(np.zeros_like(m.lift)) * members[:, None]
        with_lift = self.per_member_uplift(m.lift) * members[:, None]
        self._uplift0 = no_lift.sum(axis=0) * self.reward_scale  # (A,)
        self._uplift1 = (with_lift - no_lift) * self.reward_scale  # (J, A)
        #: Expected reward of each bandit arm (rule 3 or the chosen segment) without drift.
        self.expected_rewards = self._uplift0 + self._uplift1.sum(axis=0)
        baseline = np.ascontiguousarray(m.baseline[gi])  # (J, S)
        lift = np.ascontiguousarray(m.lift[gi])  # (J, K, S)
        fare = contribution / m.commission
        # Per segment, month and promotion index (0 = none, 1 + k = promotion k): the
        # drift-free Poisson mean (its sampling table) and the value of one transaction.
        base = baseline[:, :, None]
        per_member = np.concatenate([base, base + lift.transpose(0, 2, 1)], axis=2)
        lam = members[:, None, None] * per_member  # (J, S, K + 1)
        dist, cdf, guide, window, alias = kernels.poisson_tables(lam)
        net = contribution[:, None] - m.cost[None, :] * fare[:, None]
        value = np.concatenate([contribution[:, None], net], axis=1)  # (J, K + 1)
        arm = np.arange(self.n_arms)
        kind = np.where(arm > 0, (arm - 1) // s_max, 0)
        duration = np.where(arm > 0, (arm - 1) % s_max + 1, 0)
        arm_index = np.where(np.arange(s_max)[None, :] < duration[:, None], 1 + kind[:, None], 0)
        self.kp = kernels.PromoKernelParams(
            baseline=baseline,
            lift=lift,
            members=members,
            contribution=contribution.astype(np.float64),
            fare=fare,
            cost=m.cost.copy(),
            disc=disc,
            base_profit=(m.baseline_profit() / m.members)[gi, ci] * members,
            counted=np.ones(len(segs), dtype=np.int64),
            weight=np.ascontiguousarray(disc[None, :, None] * value[:, None, :]),
            dist=dist,
            cdf=cdf,
            guide=guide,
            window=window,
            alias=alias,
            arm_kind=kind,
            arm_index=np.ascontiguousarray(arm_index),
            exp0=self.expected_rewards,
            best0=int(np.argmax(self.expected_rewards)),
            uplift0=self._uplift0,
            uplift1=np.ascontiguousarray(self._uplift1),
            drift_sd=self.drift_sd,
            drift_log_max=float(np.log(self.drift_max)),
            reward_scale=self.reward_scale,
            horizon=self.horizon,
        )
        # Resource per member of every arm (J, A): the discount on customary sales.
        res = m.resource_per_member()[gi, ci].reshape(len(segs), -1)
        self._resource = np.concatenate([np.zeros((len(segs), 1)), res], axis=1)
        self._resource_total = np.ascontiguousarray(self._resource * members[:, None])

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

    def apply_options(self, options: dict[str, Any] | None) -> None:
        """Apply reset options: ``{"params": PromotionParams}`` swaps the parameters.

        The new params must keep the groups, contribution levels, promotion types and months
        (they fix the spaces), and the campaign's observations must stay within its bounds.
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
        draws = kernels.poisson_draw_bound(kp.members[:, None] * (kp.baseline + lift_max))
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

    def arms(
        self,
        actions: Any,
        n_envs: int,
        rejected: NDArray[np.bool_] | None = None,
        over: NDArray[np.bool_] | None = None,
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.bool_]]:
        """Validate a batch of actions for the step kernel.

        Args:
            actions: (N,) bandit arms or (N, J) campaign plans, integers.
            n_envs: N.
            rejected: Campaign: (N,) bool buffer to write which copies are rejected (new if
                None).
            over: Campaign: (N,) bool buffer to write which copies are over budget (new if
                None).

        Returns:
            The arms as C-contiguous int64, (N, 1) for the bandit (one arm for every segment)
            or (N, J); which copies were rejected (rule broken or over budget: the kernel runs
            no promotion for them) and which were over budget ((0,) arrays for the bandit).
        """
        arr = np.asarray(actions)
        want = (n_envs, len(self.segments)) if self.campaign else (n_envs,)
        if arr.shape != want or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(
                f"actions must be integers of shape {want}, got {arr.shape} {arr.dtype}"
            )
        if arr.dtype != np.int64 and (arr.min() < 0 or arr.max() >= self.n_arms):
            self._raise_out_of_range(arr)  # before a cast to int64 could wrap a value
        arr = np.ascontiguousarray(arr, dtype=np.int64)
        if not self.campaign:
            if arr.min() < 0 or arr.max() >= self.n_arms:
                self._raise_out_of_range(arr)
            return arr.reshape(n_envs, 1), _NO_FLAGS, _NO_FLAGS
        if rejected is None or over is None:
            rejected, over = np.empty(n_envs, dtype=bool), np.empty(n_envs, dtype=bool)
        self._check(arr, self.budget, rejected, over)
        if self.on_violation == "raise" and rejected.any():
            breaks = ~self.allowed(arr)
            if breaks.any():
                raise ValueError(
                    f"action breaks business rule {self.rule}: {RULE_TEXT[self.rule]}; got "
                    f"{arr[breaks][0].tolist()}"
                )
            used = float(self.resource_used(arr[over][:1])[0])
            raise ValueError(
                f"action exceeds the budget: it uses {used:,.2f} of resource (expected "
                f"discount on customary sales) against a budget of {self.budget:,.2f}; "
                f"shorten or drop promotions (got {arr[over][0].tolist()})"
            )
        return arr, rejected, over

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
        check = kernels.promo_check if len(arms) >= 1024 else kernels.promo_check_serial
        bad = check(arms, self.n_arms, self.model.horizon, self.rule, self._resource_total,
                    -1.0 if budget is None else budget, rejected, over)  # fmt: skip
        if bad:
            self._raise_out_of_range(arms)

    def _plans(self, arms: Any) -> NDArray[np.int64]:
        """``arms`` as (N, J) int64 plans, validated."""
        arr = np.atleast_2d(np.asarray(arms))
        j = len(self.segments)
        if arr.ndim != 2 or arr.shape[1] != j or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(
                f"arms must be integers of shape ({j},) or (N, {j}), got {arr.shape} {arr.dtype}"
            )
        if arr.dtype != np.int64 and arr.size and (arr.min() < 0 or arr.max() >= self.n_arms):
            self._raise_out_of_range(arr)
        return np.ascontiguousarray(arr, dtype=np.int64)

    def over_budget(self, arms: NDArray[np.int64]) -> NDArray[np.bool_]:
        """(N,) whether each row of per-segment arms uses more resource than the budget."""
        plans = self._plans(arms)
        rejected, over = np.empty(len(plans), dtype=bool), np.zeros(len(plans), dtype=bool)
        if self.budget is not None and self.campaign:
            self._check(plans, self.budget, rejected, over)
        return over

    def per_member_uplift(self, lift: NDArray[np.float64]) -> NDArray[np.float64]:
        """(J, A) per-member uplift of every arm (column 0: no promotion) for a (G, K, S) lift."""
        gi = np.array([g for g, _ in self.segments])
        ci = np.array([c for _, c in self.segments])
        table = self.model.uplift_per_member(lift)[gi, ci]  # (J, K, S)
        return np.concatenate([np.zeros((len(gi), 1)), table.reshape(len(gi), -1)], axis=1)

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


RULE_TEXT = {
    1: "any segment may get any promotion or none",
    2: "if any segment is promoted, all get the same promotion type (durations may differ)",
    3: "if any segment is promoted, all get the same promotion and duration",
    4: "if any segment is promoted, all are (type and duration free per segment)",
}


class _PromotionEnv(NumbaEnv):
    """Single-env plumbing shared by the bandit and the campaign."""

    metadata: dict[str, Any] = {"render_modes": []}
    _campaign = False

    def _build(self, kwargs: dict[str, Any], render_mode: str | None) -> None:
        if render_mode is not None:
            raise ValueError(f"{type(self).__name__} has no render modes, got {render_mode!r}")
        self._setup = PromotionSetup(campaign=self._campaign, **kwargs)
        self.observation_space = self._setup.observation_space
        self.action_space = self._setup.action_space
        j, n_arms = len(self._setup.segments), self._setup.n_arms
        campaign = self._campaign
        self._fstate = np.zeros((1, j))
        self._state = np.zeros((1, kernels.INT_WIDTH), dtype=np.int64)
        # The campaign observes and may reject; the bandit reports the arms' means instead.
        self._obs = np.zeros((1, 2 * j if campaign else 0), dtype=np.float32)
        self._rew = np.zeros(1)
        self._term = np.zeros(1, dtype=np.bool_)
        self._trunc = np.zeros(1, dtype=np.bool_)
        self._arms = np.zeros((1, j if campaign else 1), dtype=np.int64)
        self._rejected = np.zeros(1 if campaign else 0, dtype=np.bool_)
        self._over = np.zeros(1, dtype=np.bool_)
        self._exp = np.zeros((1, 0 if campaign else n_arms))
        self._best = np.zeros(0 if campaign else 1, dtype=np.int64)
        self._regret = np.zeros(0 if campaign else 1)
        self._init_kernel()

    @property
    def setup(self) -> PromotionSetup:
        """Segments, priors, baselines and rule helpers of this env (see ``PromotionSetup``)."""
        return self._setup

    def _serial_step_kernel(self) -> Any:
        return kernels.promo_step_serial

    def _step_kernel_args(self) -> tuple[Any, ...]:
        return (self._setup.kp, self._fstate, self._state, self._arms, self._rejected,
                self._obs, self._rew, self._term, self._trunc, self._exp, self._best,
                self._regret)  # fmt: skip

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start a new episode; ``options={"params": PromotionParams}`` swaps the parameters."""
        self._setup.apply_options(options)
        self._seed_stream(seed)
        kernels.promo_reset_serial(self._setup.kp, self._fstate, self._state, self._obs)
        self._ended = False
        return self._observation(), self._reset_info()

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Run one campaign cycle with ``action``."""
        self._check_running()
        self._set_action(action)
        self._step_kernel(*self._step_kernel_args())
        trunc = bool(self._trunc[0])
        self._ended = trunc
        return self._observation(), float(self._rew[0]), False, trunc, self._step_info()

    def _set_action(self, action: Any) -> None:
        raise NotImplementedError

    def _observation(self) -> Any:
        raise NotImplementedError

    def _reset_info(self) -> dict[str, Any]:
        raise NotImplementedError

    def _step_info(self) -> dict[str, Any]:
        raise NotImplementedError


class PromotionBanditEnv(_PromotionEnv):
    """Choosing a promotion by trial: a multi-armed bandit over (promotion, duration).

    ## Description

    A ferry travel agency (Mandania, Cadogan, Liu & Kazmi 2025) picks, each pull, one arm:
    no promotion, or promotion type k for D = 1..5 months. A pull promotes a batch of
    ``batch_size`` customers (default 1,000): of one segment (``segment=(group, level)``) or,
    by default, drawn in the cohort's proportions from every segment, all getting the same
    arm (business rule 3). The reward is the batch's realised discounted profit over the
    horizon minus its expected baseline profit: noisy, with expectation equal to the arm's
    true CLV uplift, which the learner does not know. The unit of a pull sets the
    difficulty: a pull that promotes the paper's whole cohort of 387,000 customers puts the
    best arm 11.8 reward standard deviations ahead of the runner-up, so one pull per arm
    finds it; a batch of 1,000 puts it 0.60 s.d. ahead (the gap over s.d. grows with the
    square root of the batch).

    ## Difficulty (best-arm gap / reward s.d. of one pull, ``setup.difficulty()``)

    On the ``mandania2025_ferry`` preset at the default batch of 1,000 (Poisson noise, the
    least a real batch would show; the three contribution levels of a group are equally
    hard). ``crm_envs.papers.mandania2025.bandit.bandit_difficulty`` recomputes the table.

    | variant | best arm | gap / s.d. |
    |---|---|---:|
    | all segments (default) | 7% discount, 5 months | 0.60 |
    | whole cohort (``batch_size=None``) | 7% discount, 5 months | 11.8 |
    | no repeat | 7% discount, 5 months | 0.40 |
    | 1/up to 1, 1/1-3, 1/3-6 months | 7% discount, 5 months | 1.23, 1.69, 3.68 |
    | 2/up to 1, 2/1-3, 2/3-6 months | none; 7%, 5 months; 7%, 5 months | 0.38, 1.52, 4.46 |
    | 3/up to 1, 3/1-3, 3/3-6 months | none; none; 7%, 5 months | 0.62, 0.44, 5.32 |
    | 4/up to 1, 4/1-3 months | none | 0.88, 0.63 |
    | 5+/up to 1, 5+/1-3 months | none | 1.14, 0.86 |

    No segment is a near-tie (gap under 0.02 s.d.): the closest two best arms are 0.38 s.d.
    apart. Segments above 1 s.d. are easy at this batch; a smaller ``batch_size`` makes them
    hard (0.60 / 2 at 250 customers).

    ## Action Space

    ``Discrete(1 + K * S)`` = ``Discrete(21)``: 0 = no promotion, ``1 + k * 5 + (D - 1)``.

    ## Observation Space

    ``Discrete(1)``: a bandit has no state (always 0).

    ## Rewards

    Realised discounted profit of the batch minus its expected baseline profit, times
    ``reward_scale`` (default 1: pounds).

    ## Starting State / Episode End

    No state; truncated after ``horizon`` pulls (default 1,000).

    ## Arguments

    ``preset``, ``params``, ``segment`` (None = rule 3), ``batch_size`` (customers per pull,
    None = all), ``horizon``, ``drift_sd``, ``drift_max``, ``reward_scale``.

    ## Calibration & References

    Mandania et al. (2025), Journal of Service Research: BG/BB groups, promotions, business
    rules; see the ``mandania2025_ferry`` preset for every calibrated number and assumption.
    ``info`` carries the true expected reward of every arm (``"expected_rewards"``), the
    best arm (``"best_arm"``) and, after a step, the regret of the pulled arm
    (``"regret"``), so regret is exact; the task's ``scoring`` is ``"regret"``. With
    ``drift_sd > 0`` these are the means in force for that pull (the drift moves them
    between pulls); after ``reset`` they are the first pull's.

    ## Version History

    * v2, issue 18: exact Poisson draws by tabled alias sampling; the normal
      approximation the kernel used for means from 30 up is gone (same caps and spaces,
      see :mod:`~crm_envs.envs.promotion.kernels`); seeded trajectories changed.
    * v1: issue 17. A pull promotes a batch of 1,000 customers (was the whole cohort, whose
      best arm a single pull identified: gap 7.3 s.d.); the recalibrated preset (cohort of
      386,814, gamma-gamma spend, win-back of lapsed customers, rising month effect, survey
      preferences); reward in pounds; 1,000 pulls.
    * v0: initial release.
    """

    def __init__(
        self,
        preset: str = "mandania2025_ferry",
        params: PromotionParams | None = None,
        segment: tuple[int, int] | None = None,
        batch_size: float | None = 1000.0,
        horizon: int = 1000,
        drift_sd: float = 0.0,
        drift_max: float = 2.0,
        reward_scale: float = 1.0,
        render_mode: str | None = None,
    ) -> None:
        self._build(
            dict(preset=preset, params=params, segment=segment, batch_size=batch_size, rule=3,
                 budget=None, horizon=horizon, drift_sd=drift_sd, drift_max=drift_max,
                 reward_scale=reward_scale, on_violation="reject"),
            render_mode,
        )  # fmt: skip

    def _set_action(self, action: Any) -> None:
        if isinstance(action, (bool, np.bool_)):
            raise ValueError(f"action must be an integer arm, got {action!r}")
        try:
            arm = operator.index(action)
        except TypeError:
            self._setup.arms(np.asarray(action)[None], 1)  # raises the batch's error
            raise
        if not 0 <= arm < self._setup.n_arms:
            self._setup._raise_out_of_range(np.array([arm], dtype=object))
        self._arms[0, 0] = arm

    def _observation(self) -> Any:
        return 0

    def _reset_info(self) -> dict[str, Any]:
        # The means of the first pull (no drift yet).
        return {"expected_rewards": self._setup.kp.exp0.copy(), "best_arm": self._setup.kp.best0}

    def _step_info(self) -> dict[str, Any]:
        # The means this pull had (with drift_sd > 0 they move between pulls).
        return {"expected_rewards": self._exp[0].copy(), "best_arm": int(self._best[0]),
                "regret": float(self._regret[0])}  # fmt: skip


class PromotionCampaignEnv(_PromotionEnv):
    """A promotion campaign for every customer segment under a business rule and a budget.

    ## Description

    Each step is a campaign cycle of the ferry agency (Mandania et al. 2025): the action
    assigns an arm (no promotion, or promotion k for D months) to each of the 42 segments (14
    frequency/recency groups x 3 contribution levels) of the whole cohort. The business rule
    couples the segments: 1 (any plan), 2 (one promotion type for all, durations free), 3
    (one arm for all) or 4 (the paper's Figure 8: everyone or no one promoted, type and
    duration free per segment); ``env.unwrapped.allowed(arms)`` checks an action. With a
    ``budget``, a plan's resource (the expected discount on customary sales,
    ``env.unwrapped.setup.resource_used(arms)``) must not exceed it. An action that breaks
    the rule or the budget is *rejected*: no segment is promoted that cycle and
    ``info["rejected"]`` is True (``info["over_budget"]`` says whether the budget was the
    reason), or, with ``on_violation="raise"``, it raises. Nothing is silently changed
    otherwise.

    ## Action Space

    ``MultiDiscrete([21] * 42)``; arm coding as in the bandit.

    ## Observation Space

    ``Box(float32, (84,))``: each segment's realised transactions per member, then its
    realised discounted profit per member, in the last cycle (zeros after reset).

    ## Rewards

    Realised profit of all segments minus the expected baseline profit, times
    ``reward_scale`` (default 1e-3: thousands of pounds).

    ## Episode End

    Truncated after ``horizon`` cycles (default 12). ``drift_sd > 0`` lets the true lifts
    drift between cycles: per segment, a log random walk with steps of s.d. ``drift_sd``,
    reflected so that the lift multiplier stays in ``[1 / drift_max, drift_max]`` (default
    2).

    Observations are bounded: each count and profit lies within the largest draw the
    kernel's Poisson sampler can make (see ``PromotionSetup._observation_bounds``).

    ## Calibration & References

    Mandania et al. (2025); the ``mandania2025_ferry`` preset. ``info`` holds ``"rejected"``
    and ``"over_budget"`` (single and vector alike); every segment may take every arm on its
    own, so there is no action mask: the rule's coupling is checked by ``allowed``.

    ## Version History

    * v2, issue 18: exact Poisson draws by tabled alias sampling; the normal
      approximation the kernel used for means from 30 up is gone (same caps and spaces,
      see :mod:`~crm_envs.envs.promotion.kernels`); seeded trajectories changed.
    * v1: issue 17. The recalibrated preset (see the bandit); business rule 4; the resource
      budget enforced (``budget``, ``info["over_budget"]``).
    * v0: initial release.
    """

    _campaign = True

    def __init__(
        self,
        preset: str = "mandania2025_ferry",
        params: PromotionParams | None = None,
        rule: int = 1,
        budget: float | None = None,
        horizon: int = 12,
        drift_sd: float = 0.0,
        drift_max: float = 2.0,
        reward_scale: float = 1e-3,
        on_violation: str = "reject",
        render_mode: str | None = None,
    ) -> None:
        self._build(
            dict(preset=preset, params=params, segment=None, batch_size=None, rule=rule,
                 budget=budget, horizon=horizon, drift_sd=drift_sd, drift_max=drift_max,
                 reward_scale=reward_scale, on_violation=on_violation),
            render_mode,
        )  # fmt: skip

    def allowed(self, arms: Any) -> bool:
        """Whether per-segment ``arms`` obey the business rule (the budget aside)."""
        return bool(self._setup.allowed(np.asarray(arms)[None])[0])

    def _set_action(self, action: Any) -> None:
        arms, _, _ = self._setup.arms(np.asarray(action)[None], 1, self._rejected, self._over)
        self._arms[...] = arms

    def _observation(self) -> Any:
        return self._obs[0].copy()

    def _reset_info(self) -> dict[str, Any]:
        return {"rejected": False, "over_budget": False}

    def _step_info(self) -> dict[str, Any]:
        return {"rejected": bool(self._rejected[0]), "over_budget": bool(self._over[0])}
