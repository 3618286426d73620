"""``crm_envs/PromotionBandit-v0`` and ``crm_envs/PromotionCampaign-v0``."""

from __future__ import annotations

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


class PromotionSetup(Task):
    """What the single and vector promotion envs share.

    Args:
        preset: Registered preset name.
        params: Explicit parameters (override ``preset``).
        campaign: Campaign env (one arm per segment) instead of the bandit.
        segment: Bandit only: ``(group, level)`` to decide for, or None for rule 3 (one arm for
            every segment).
        rule: Campaign only: business rule 1, 2 or 3.
        horizon: Steps (campaign cycles / bandit pulls) per episode.
        drift_sd: Std. deviation of the per-cycle step of the log lift multipliers.
        drift_max: The lift multipliers stay in ``[1 / drift_max, drift_max]`` (reflected).
        reward_scale: Multiplier of the profit (default 1e-3: thousands).
        on_violation: Campaign only: ``"reject"`` (run no promotion, flag it) or ``"raise"``.
    """

    def __init__(
        self,
        preset: str,
        params: PromotionParams | None,
        campaign: bool,
        segment: tuple[int, int] | None,
        rule: int,
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
        if not self.campaign and (rule != 3 or on_violation != "reject"):
            raise ValueError(
                f"rule={rule!r} and on_violation={on_violation!r} apply to the campaign env "
                "only: a bandit pull promotes every segment alike (rule 3) or the one chosen "
                "by segment=; leave them at their defaults (3, 'reject')"
            )
        if self.campaign and segment is not None:
            raise ValueError(
                f"segment={segment!r} applies to the bandit only: the campaign env decides for "
                "every segment at once; leave segment=None"
            )
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
        contribution = m.contribution[ci]
        self.kp = kernels.PromoKernelParams(
            baseline=np.ascontiguousarray(m.baseline[gi]),
            lift=np.ascontiguousarray(m.lift[gi]),
            members=m.members[gi, ci].copy(),
            contribution=contribution.astype(np.float64),
            fare=contribution / m.commission,
            cost=m.cost.copy(),
            disc=disc,
            base_profit=m.baseline_profit()[gi, ci],
            counted=np.ones(len(segs), dtype=np.int64),
            drift_sd=self.drift_sd,
            drift_log_max=float(np.log(self.drift_max)),
            reward_scale=self.reward_scale,
            horizon=self.horizon,
        )
        # The uplift is linear in the lift: U(x * lift) = U0 + x * U1 per segment and arm.
        no_lift = self._per_member(np.zeros_like(m.lift)) * self.kp.members[:, None]
        with_lift = self._per_member(m.lift) * self.kp.members[:, None]
        self._uplift0 = no_lift.sum(axis=0) * self.reward_scale  # (A,)
        self._uplift1 = (with_lift - no_lift) * self.reward_scale  # (J, A)
        #: Expected reward of each bandit arm (rule 3 or the chosen segment) without drift.
        self.expected_rewards = self._uplift0 + self._uplift1.sum(axis=0)

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

    def arms(self, actions: Any, n_envs: int) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Validate a batch of actions; return per-segment arms and which copies were rejected."""
        arr = np.asarray(actions)
        j = len(self.segments)
        want = (n_envs, j) if self.campaign else (n_envs,)
        if arr.shape != want or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(
                f"actions must be integers of shape {want}, got {arr.shape} {arr.dtype}"
            )
        if arr.min() < 0 or arr.max() >= self.n_arms:
            raise ValueError(
                f"arms must lie in 0..{self.n_arms - 1} (0 = no promotion, 1 + k * "
                f"{self.model.horizon} + (D - 1) = promotion k for D months); got "
                f"{int(arr[(arr < 0) | (arr >= self.n_arms)].ravel()[0])}"
            )
        if not self.campaign:
            return np.ascontiguousarray(np.repeat(arr[:, None], j, axis=1), np.int64), np.zeros(
                n_envs, bool
            )
        bad = ~self.allowed(arr)
        if bad.any() and self.on_violation == "raise":
            raise ValueError(
                f"action breaks business rule {self.rule}: {RULE_TEXT[self.rule]}; got "
                f"{arr[bad][0].tolist()}"
            )
        out = np.where(bad[:, None], 0, arr)
        return np.ascontiguousarray(out, np.int64), bad

    def _per_member(self, lift: NDArray[np.float64]) -> NDArray[np.float64]:
        gi = np.array([g for g, _ in self.segments])
        ci = np.array([c for _, c in self.segments])
        table = self.model.uplift_per_member(lift)[gi, ci]  # (J, K, S)
        return np.concatenate([np.zeros((len(gi), 1)), table.reshape(len(gi), -1)], axis=1)

    def survey_uplift_per_member(self) -> NDArray[np.float64]:
        """(J, A) per-member uplift of every arm by the survey-based estimates (a prior)."""
        return self._per_member(self.model.survey_lift)

    def true_uplift_per_member(self) -> NDArray[np.float64]:
        """(J, A) true per-member uplift of every arm. A diagnostic: learners must not use it."""
        return self._per_member(self.model.lift)

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

    def random_allowed(self, rng: np.random.Generator) -> NDArray[np.int64]:
        """A uniformly random rule-abiding arm per segment (for exploration)."""
        j, s, k = len(self.segments), self.model.horizon, self.params.n_promotions
        if self.rule == 1:
            return rng.integers(0, self.n_arms, j)
        if self.rule == 3:
            return np.full(j, rng.integers(0, self.n_arms))
        kind = rng.integers(-1, k)
        if kind < 0:
            return np.zeros(j, dtype=np.int64)
        return 1 + kind * s + rng.integers(0, s, j)

    def best_action(self) -> Any:
        """The exactly optimal action: the best arm, or the optimal plan's arms under the rule.

        With ``drift_sd > 0`` the lifts move away from these values during an episode.
        """
        return self._best_for(self.true_uplift_per_member())

    def _best_for(self, per_member: NDArray[np.float64]) -> Any:
        """The best arm (bandit) or rule-abiding plan (campaign) by per-member uplifts."""
        from crm_envs.envs.promotion.plan import plan

        if not self.campaign:
            return int(np.argmax(per_member.T @ self.kp.members))
        p = plan(self.uplift_table(per_member), rule=self.rule)
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
                f"the optimal plan under rule {self.rule} (enumeration over the rule's plans), "
                "every cycle: exact for the expected profit, as cycles are independent",
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
        survey = self._best_for(self.survey_uplift_per_member())
        out.append(("naive", Policy("survey plan", lambda obs, info: survey,
                                    "the best action by the survey's lift estimates")))  # fmt: skip
        return out

    def allowed(self, arms: NDArray[np.int64]) -> NDArray[np.bool_]:
        """(N,) whether each row of per-segment arms obeys the business rule."""
        arms = np.atleast_2d(arms)
        if self.rule == 1:
            return np.ones(len(arms), dtype=bool)
        if self.rule == 3:
            return (arms == arms[:, :1]).all(axis=1)
        s = self.model.horizon
        kind = np.where(arms > 0, (arms - 1) // s, -1)
        none = (arms == 0).all(axis=1)
        same = (kind == kind[:, :1]).all(axis=1) & (kind[:, 0] >= 0)
        return none | same


RULE_TEXT = {
    1: "any segment may get any promotion or none",
    2: "if any segment is promoted, all get the same promotion type (durations may differ)",
    3: "if any segment is promoted, all get the same promotion and duration",
}


class _PromotionEnv(NumbaEnv):
    """Single-env plumbing shared by the bandit and the campaign."""

    metadata: dict[str, Any] = {"render_modes": []}
    _campaign = False

    def __init__(
        self,
        preset: str = "mandania2025_ferry",
        params: PromotionParams | None = None,
        segment: tuple[int, int] | None = None,
        rule: int = 3,
        horizon: int = 200,
        drift_sd: float = 0.0,
        drift_max: float = 2.0,
        reward_scale: float = 1e-3,
        on_violation: str = "reject",
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"{type(self).__name__} has no render modes, got {render_mode!r}")
        self._setup = PromotionSetup(preset, params, self._campaign, segment, rule, horizon,
                                     drift_sd, drift_max, reward_scale, on_violation)  # fmt: skip
        self.observation_space = self._setup.observation_space
        self.action_space = self._setup.action_space
        j = len(self._setup.segments)
        self._fstate = np.zeros((1, j))
        self._state = np.zeros((1, kernels.INT_WIDTH), dtype=np.int64)
        self._obs = np.zeros((1, 2 * j), dtype=np.float32)
        self._rew = np.zeros(1)
        self._term = np.zeros(1, dtype=np.bool_)
        self._trunc = np.zeros(1, dtype=np.bool_)
        self._arms = np.zeros((1, j), dtype=np.int64)
        self._init_kernel()

    @property
    def setup(self) -> PromotionSetup:
        """Segments, priors, baselines and rule helpers of this env (see ``PromotionSetup``)."""
        return self._setup

    def _serial_step_kernel(self) -> Any:
        return kernels.promo_step_serial

    def _step_kernel_args(self) -> tuple[Any, ...]:
        return (self._setup.kp, self._fstate, self._state, self._arms, self._obs, self._rew,
                self._term, self._trunc)  # fmt: skip

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start a new episode; ``options={"params": PromotionParams}`` swaps the parameters."""
        self._setup.apply_options(options)
        self._seed_stream(seed)
        kernels.promo_reset_serial(self._setup.kp, self._fstate, self._state, self._obs)
        self._means = self._setup.expected_rewards_now(self._fstate)[0]
        self._ended = False
        return self._observation(), self._info(None, False)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Run one campaign cycle with ``action``."""
        self._check_running()
        arms, rejected = self._setup.arms(np.asarray(action)[None], 1)
        self._arms[:] = arms
        self._means = self._setup.expected_rewards_now(self._fstate)[0]  # before the drift
        self._step_kernel(*self._step_kernel_args())
        trunc = bool(self._trunc[0])
        self._ended = trunc
        return (
            self._observation(),
            float(self._rew[0]),
            False,
            trunc,
            self._info(action, rejected[0]),
        )

    def _observation(self) -> Any:
        return self._obs[0].copy() if self._campaign else 0

    def _info(self, action: Any, rejected: bool) -> dict[str, Any]:
        raise NotImplementedError


class PromotionBanditEnv(_PromotionEnv):
    """Choosing a promotion by trial: a multi-armed bandit over (promotion, duration).

    ## Description

    A ferry travel agency (Mandania, Cadogan, Liu & Kazmi 2025) picks, each cycle, one arm:
    no promotion, or promotion type k for D = 1..5 months. The arm runs either for one
    segment (``segment=(group, level)``) or, by default, for every segment at once (business
    rule 3). The reward is the realised profit over the expected baseline: noisy, with
    expectation equal to the arm's true CLV uplift, which the learner does not know.

    ## Action Space

    ``Discrete(1 + K * S)`` = ``Discrete(21)``: 0 = no promotion, ``1 + k * 5 + (D - 1)``.

    ## Observation Space

    ``Discrete(1)``: a bandit has no state (always 0).

    ## Rewards

    Realised discounted profit of the cycle minus the expected baseline profit, times
    ``reward_scale`` (default: thousands of pounds).

    ## Starting State / Episode End

    No state; truncated after ``horizon`` pulls (default 200).

    ## Arguments

    ``preset``, ``params``, ``segment`` (None = rule 3), ``horizon``, ``reward_scale``.

    ## Calibration & References

    Mandania et al. (2025), Journal of Service Research: BG/BB groups, promotions, business
    rules; see the ``mandania2025_ferry`` preset for every assumption. ``info`` carries the
    true expected reward of every arm (``"expected_rewards"``), the best arm and the regret
    of the pulled arm, so regret is measured exactly. With ``drift_sd > 0`` these are the
    means in force for that pull (the drift moves them between pulls); after ``reset`` they
    are the first pull's.

    ## Version History

    * v0: initial release.
    """

    def _info(self, action: Any, rejected: bool) -> dict[str, Any]:
        # After reset: the means of the first pull; after a step: the means that pull had
        # (with drift_sd > 0 they move between pulls).
        exp = self._means
        best = int(np.argmax(exp))
        info = {"expected_rewards": exp.copy(), "best_arm": best}
        if action is not None:
            info["regret"] = float(exp[best] - exp[int(action)])
        return info


class PromotionCampaignEnv(_PromotionEnv):
    """A promotion campaign for every customer segment under a business rule.

    ## Description

    Each step is a campaign cycle of the ferry agency (Mandania et al. 2025): the action
    assigns an arm (no promotion, or promotion k for D months) to each of the 42 segments (14
    frequency/recency groups x 3 contribution levels). The business rule (1, 2 or 3) couples
    the segments; ``env.unwrapped.allowed(arms)`` checks an action. An action that breaks the
    rule is *rejected*: no segment is promoted that cycle and ``info["rejected"]`` is True
    (or, with ``on_violation="raise"``, it raises). Nothing is silently changed otherwise.

    ## Action Space

    ``MultiDiscrete([21] * 42)``; arm coding as in the bandit.

    ## Observation Space

    ``Box(float32, (84,))``: each segment's realised transactions per member, then its
    realised discounted profit per member, in the last cycle (zeros after reset).

    ## Rewards

    Realised profit of all segments minus the expected baseline profit, times
    ``reward_scale``.

    ## Episode End

    Truncated after ``horizon`` cycles (default 12). ``drift_sd > 0`` lets the true lifts
    drift between cycles: per segment, a log random walk with steps of s.d. ``drift_sd``,
    reflected so that the lift multiplier stays in ``[1 / drift_max, drift_max]`` (default
    2).

    Observations are bounded: each count and profit lies within the largest draw the
    kernel's Poisson sampler can make (see ``PromotionSetup._observation_bounds``).

    ## Calibration & References

    Mandania et al. (2025); the ``mandania2025_ferry`` preset. ``info`` holds ``"rejected"``
    (single and vector alike); every segment may take every arm on its own, so there is no
    action mask: the rule's coupling is checked by ``allowed``.

    ## Version History

    * v0: initial release.
    """

    _campaign = True

    def __init__(self, *args: Any, rule: int = 1, horizon: int = 12, **kwargs: Any) -> None:
        super().__init__(*args, rule=rule, horizon=horizon, **kwargs)

    def allowed(self, arms: Any) -> bool:
        """Whether per-segment ``arms`` obey the business rule."""
        return bool(self._setup.allowed(np.asarray(arms)[None])[0])

    def _info(self, action: Any, rejected: bool) -> dict[str, Any]:
        return {"rejected": bool(rejected)}
