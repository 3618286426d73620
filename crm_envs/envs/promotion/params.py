"""Parameters of the promotion model (Mandania, Cadogan, Liu & Kazmi 2025)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crm_envs.core.params import (
    check_array,
    check_int,
    check_prob_vector,
    check_range_array,
    check_scalar,
)
from crm_envs.envs.promotion import kernels as _kernels
from crm_envs.envs.promotion.clv import BGBB, GammaGamma
from crm_envs.envs.promotion.model import GROUPS, PromotionModel, group_average, group_weights

__all__ = ["MEMO_SIZE", "PromotionParams", "arm_table"]

MEMO_SIZE = 8
"""Kernel parameters (and sampling tables) a params object keeps, per env argument set."""
_MEMOS = ("_kernel_params", "_poisson_tables")


def arm_table(
    table: NDArray[np.float64], segments: Sequence[tuple[int, int]]
) -> NDArray[np.float64]:
    """(J, A) per-arm values of ``segments`` from a (G, C, K, S) table of the model.

    Arm 0 (no promotion) gets 0; arm ``1 + k * S + (D - 1)`` gets ``table[g, c, k, D - 1]``
    (promotion k for D months), the bandit's and the campaign's arm coding.

    Args:
        table: (G, C, K, S) values per member (e.g. ``PromotionModel.uplift_per_member()``).
        segments: The (group, contribution level) pairs, in the env's order.

    Returns:
        A (J, 1 + K * S) array.
    """
    gi = np.array([g for g, _ in segments])
    ci = np.array([c for _, c in segments])
    picked = table[gi, ci].reshape(len(segments), -1)
    return np.concatenate([np.zeros((len(segments), 1)), picked], axis=1)


@dataclass(frozen=True, kw_only=True, eq=False)
class PromotionParams:
    """Every number of the promotion model; see :mod:`crm_envs.envs.promotion.model`.

    Attributes:
        bgbb: (alpha, beta, gamma, delta) of the cohort's BG/BB model (monthly periods).
        n_calibration: Months in the calibration window (the paper: 6).
        horizon: Months in the planning horizon = longest promotion (the paper: 5).
        cohort_size: Customers in the cohort (> 0).
        contributions: Observed average contribution per transaction of each level (the
            paper: 15, 22, 40).
        contribution_shares: Share of customers at each contribution level (sums to 1).
        spend: (p, q, v) of a gamma-gamma spend model (q > 1), or None. With a spend model
            a segment's contribution per future transaction is the gamma-gamma conditional
            expectation given its transactions (repeat ones plus the first) and its level's
            observed average; without one it is the level itself.
        commission: Contribution as a fraction of the fare, in (0, 1].
        discount: Monthly discount factor of cash flows, in (0, 1].
        promotion_names: Name of each promotion type.
        promotion_costs: Cost of each promotion per transaction as a fraction of the fare,
            in [0, 1).
        appeal: (K,) relative increase of an alive customer's purchase rate under each
            promotion type, at full wallet headroom, in an average month (>= 0).
        winback: Extra transactions a month a promotion wins back per lapsed customer, per
            unit of appeal and of the lapsed customer's purchase probability (>= 0).
        wallet: Monthly purchase probability at which a customer's wallet is full (> 0):
            alive members buying at that rate have no headroom, so a promotion only costs.
        month_profile: (S,) true relative effect of a promotion in its 1st..S-th month.
        survey_preference: (G, K) share of each group's survey answers preferring each
            promotion type (rows sum to 1): the survey's preferences, which with a flat month
            profile make the learner's prior.
    """

    bgbb: tuple[float, float, float, float]
    n_calibration: int = 6
    horizon: int = 5
    cohort_size: float = 10_000.0
    contributions: tuple[float, ...] = (15.0, 22.0, 40.0)
    contribution_shares: tuple[float, ...] = (0.5, 0.3, 0.2)
    spend: tuple[float, float, float] | None = None
    commission: float = 0.25
    discount: float = 0.99
    promotion_names: tuple[str, ...]
    promotion_costs: tuple[float, ...]
    appeal: tuple[float, ...]
    winback: float = 0.0
    wallet: float = 1.0
    month_profile: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0)
    survey_preference: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "bgbb", tuple(BGBB(*self.bgbb).__dict__.values()))
        check_int("n_calibration", self.n_calibration, low=6, high=6)
        check_int("horizon", self.horizon, low=1, high=24)
        check_scalar("cohort_size", self.cohort_size, low=0.0, low_open=True)
        c = check_array("contributions", self.contributions, shape=(None,))
        if np.any(c <= 0):
            raise ValueError(f"contributions must be > 0, got {c}")
        shares = check_array("contribution_shares", self.contribution_shares, shape=(len(c),))
        check_prob_vector("contribution_shares", shares)
        if self.spend is not None:
            spend = check_array("spend", self.spend, shape=(3,))
            gg = GammaGamma(*spend)
            if gg.q <= 1:
                raise ValueError(
                    f"spend (p, q, v) needs q > 1 for a finite expected spend, got q = {gg.q}"
                )
            set_(self, "spend", (gg.p, gg.q, gg.v))
        check_scalar("commission", self.commission, low=0.0, high=1.0, low_open=True)
        check_scalar("discount", self.discount, low=0.0, high=1.0, low_open=True)
        k = len(self.promotion_names)
        if k == 0:
            raise ValueError("promotion_names must name at least one promotion type")
        costs = check_array("promotion_costs", self.promotion_costs, shape=(k,))
        if np.any(costs < 0) or np.any(costs >= 1):
            raise ValueError(f"promotion_costs (discounts) must lie in [0, 1), got {costs}")
        appeal = check_array("appeal", self.appeal, shape=(k,))
        check_range_array("appeal", appeal, 0.0, np.inf)
        check_scalar("winback", self.winback, low=0.0)
        check_scalar("wallet", self.wallet, low=0.0, low_open=True)
        profile = check_array("month_profile", self.month_profile, shape=(self.horizon,))
        check_range_array("month_profile", profile, 0.0, np.inf)
        pref = check_array("survey_preference", self.survey_preference, shape=(len(GROUPS), k))
        check_range_array("survey_preference", pref, 0.0, 1.0)
        bad = np.flatnonzero(np.abs(pref.sum(axis=1) - 1.0) > 1e-6)
        if bad.size:
            raise ValueError(
                f"survey_preference rows are shares and must sum to 1; row {bad[0]} "
                f"({GROUPS[bad[0]].name}) sums to {pref[bad[0]].sum():.6g}"
            )
        for name, arr in (("contributions", c), ("contribution_shares", shares),
                          ("promotion_costs", costs), ("appeal", appeal),
                          ("month_profile", profile)):  # fmt: skip
            set_(self, name, tuple(float(v) for v in arr))
        set_(self, "survey_preference", tuple(tuple(float(v) for v in row) for row in pref))

    @property
    def n_promotions(self) -> int:
        """Number of promotion types K."""
        return len(self.promotion_names)

    @property
    def model(self) -> BGBB:
        """The cohort's BG/BB model."""
        return BGBB(*self.bgbb)

    @property
    def spend_model(self) -> GammaGamma | None:
        """The gamma-gamma spend model, or None."""
        return None if self.spend is None else GammaGamma(*self.spend)

    def build(self) -> PromotionModel:
        """Derive groups, baselines, lifts and survey estimates (see ``model``).

        Computed once per params object and shared (its arrays are read-only): the params are
        immutable, and the derivation takes a noticeable fraction of a second.
        """
        built = self.__dict__.get("_built")
        if built is None:
            built = self._derive()
            for value in vars(built).values():
                if isinstance(value, np.ndarray):
                    value.flags.writeable = False
            object.__setattr__(self, "_built", built)
        return built

    def _derive(self) -> PromotionModel:
        m, n, s_max = self.model, self.n_calibration, self.horizon
        weights = group_weights(m, n)

        def cum_tx(x, t):
            return [m.conditional_expected_transactions(s, x, t, n) for s in range(s_max + 1)]

        baseline = np.diff(group_average(m, cum_tx, n), axis=1)  # (G, S)

        def alive_split(x, t):
            alive = float(m.p_alive(x, t, n))
            rate, lapsed = m.purchase_propensity(x, t, n)
            return [alive, alive * rate, (1.0 - alive) * lapsed]

        alive, alive_p, lapsed_p = group_average(m, alive_split, n).T
        rate = alive_p / alive
        lapsed_rate = lapsed_p / np.maximum(1.0 - alive, 1e-300)
        headroom = np.maximum(0.0, 1.0 - rate / self.wallet)
        appeal, profile = np.array(self.appeal), np.array(self.month_profile)
        # Lapsed members are won back only if they once bought again (x >= 1): a customer
        # who never repeated has no habit here to revive.
        winnable = np.array([g.cells[0][0] >= 1 for g in GROUPS], dtype=float)
        response = baseline * headroom[:, None] + (self.winback * winnable * lapsed_p)[:, None]
        lift = appeal[None, :, None] * profile[None, None, :] * response[:, None, :]
        # The survey: stated preference x the group's total demand for trips (with any
        # operator: it cannot tell what share of the wallet is already here), equal months;
        # right about each promotion type's lift on average over the cohort.
        pref = np.array(self.survey_preference)
        demand = alive_p + lapsed_p  # (G,) E[p] per member, alive or lapsed
        sigma = (weights @ lift.sum(-1)) / (s_max * weights @ (pref * demand[:, None]))  # (K,)
        survey = np.broadcast_to(
            (sigma[None] * pref * demand[:, None])[:, :, None], lift.shape
        ).copy()
        levels = np.array(self.contributions)
        gg = self.spend_model
        if gg is None:
            contribution = np.broadcast_to(levels, (len(GROUPS), len(levels))).copy()
        else:  # per transaction: cells weighted by probability x expected transactions
            contribution = group_average(
                m, lambda x, t: gg.conditional_expected_value(x + 1, levels), n,
                weights=lambda x, t: m.conditional_expected_transactions(s_max, x, t, n),
            )  # fmt: skip
        members = self.cohort_size * weights[:, None] * np.array(self.contribution_shares)[None]
        return PromotionModel(
            weights=weights, baseline=baseline, p_alive=alive, rate=rate,
            lapsed_rate=lapsed_rate, headroom=headroom, lift=lift, survey_lift=survey,
            contribution=contribution, members=members,
            cost=np.array(self.promotion_costs), commission=self.commission,
            discount=self.discount, names=tuple(g.name for g in GROUPS),
        )  # fmt: skip

    def replace(self, **changes: Any) -> PromotionParams:
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_kernel(
        self,
        segments: Sequence[tuple[int, int]],
        batch_size: float | None,
        horizon: int,
        rule: int,
        budget: float | None,
        drift_sd: float,
        drift_max: float,
        reward_scale: float,
    ) -> _kernels.PromoKernelParams:
        """Build the NamedTuple the numba kernels read, with its sampling tables.

        They depend on more of the env's arguments than other envs' kernel parameters do
        (segments, batch, rule, budget, drift), which ``PromotionTask`` validates first.
        Built once per params object and arguments (the last :data:`MEMO_SIZE` argument sets
        are kept) and shared: the sampling tables took ``gym.make`` of the campaign 125 ms
        each time. Its arrays are read-only, as the model's are.

        Args:
            segments: The (group, contribution level) pairs the env decides for.
            batch_size: Bandit only: customers one pull promotes (the cohort's mix), or None
                for the whole cohort's members.
            horizon: Steps (pulls or cycles) per episode.
            rule: Business rule 1-4 of a plan (3 for the bandit).
            budget: Bound on a plan's resource per cycle, or None.
            drift_sd: Std. deviation of the per-cycle step of the log lift multipliers.
            drift_max: Bound of the lift multipliers (``[1 / drift_max, drift_max]``).
            reward_scale: Multiplier of the profit.

        Returns:
            The kernel parameters (:class:`~crm_envs.envs.promotion.kernels.PromoKernelParams`).
        """
        key = (tuple((int(g), int(c)) for g, c in segments), batch_size, horizon, rule, budget,
               drift_sd, drift_max, reward_scale)  # fmt: skip
        return self._memo("_kernel_params", key, lambda: self._build_kernel(key))  # type: ignore[no-any-return]

    def _memo(self, name: str, key: Any, build: Any) -> Any:
        """``build()``, kept under ``key`` in this object's cache ``name``.

        A cache holds at most :data:`MEMO_SIZE` entries (the oldest goes first), so a sweep
        over env arguments does not keep every table it built.
        """
        cache = self.__dict__.get(name)
        if cache is None:
            cache = {}
            object.__setattr__(self, name, cache)
        if key not in cache:
            if len(cache) >= MEMO_SIZE:
                del cache[next(iter(cache))]
            cache[key] = build()
        return cache[key]

    def __getstate__(self) -> dict[str, Any]:
        """The fields and the derived model; kernel parameters and tables are rebuilt."""
        return {k: v for k, v in self.__dict__.items() if k not in _MEMOS}

    def _build_kernel(self, key: tuple[Any, ...]) -> _kernels.PromoKernelParams:
        """:meth:`to_kernel` for its arguments ``key`` (in its order), uncached."""
        segments, batch_size, horizon, rule, budget, drift_sd, drift_max, reward_scale = key
        m = self.build()
        s_max = m.horizon
        n_arms = 1 + self.n_promotions * s_max
        gi = np.array([g for g, _ in segments])
        ci = np.array([c for _, c in segments])
        disc = m.discount ** np.arange(1, s_max + 1)
        contribution = m.contribution[gi, ci]
        members = m.members[gi, ci].copy()
        if batch_size is not None:  # a pull promotes batch_size customers, cohort's mix
            members = batch_size * members / members.sum()
        # The uplift is linear in the lift: U(x * lift) = U0 + x * U1 per segment and arm.
        no_lift = arm_table(m.uplift_per_member(np.zeros_like(m.lift)), segments) * members[:, None]
        with_lift = arm_table(m.uplift_per_member(m.lift), segments) * members[:, None]
        uplift0 = no_lift.sum(axis=0) * reward_scale  # (A,)
        uplift1 = (with_lift - no_lift) * reward_scale  # (J, A)
        expected = uplift0 + uplift1.sum(axis=0)
        baseline = np.ascontiguousarray(m.baseline[gi])  # (J, S)
        lift = np.ascontiguousarray(m.lift[gi])  # (J, K, S)
        fare = contribution / m.commission
        # Per segment, month and promotion index (0 = none, 1 + k = promotion k): the
        # drift-free Poisson mean (its sampling table) and the value of one transaction.
        base = baseline[:, :, None]
        per_member = np.concatenate([base, base + lift.transpose(0, 2, 1)], axis=2)
        lam = members[:, None, None] * per_member  # (J, S, K + 1)
        # The tables depend only on the means, so on the segments and the batch: a sweep over
        # rules, budgets, horizons or drift reuses them.
        dist, cdf, guide, window, alias = self._memo(
            "_poisson_tables", (segments, batch_size), lambda: _kernels.poisson_tables(lam)
        )
        net = contribution[:, None] - m.cost[None, :] * fare[:, None]
        value = np.concatenate([contribution[:, None], net], axis=1)  # (J, K + 1)
        weight = np.ascontiguousarray(disc[None, :, None] * value[:, None, :])  # (J, S, K + 1)
        base_profit = (m.baseline_profit() / m.members)[gi, ci] * members
        # Pools for the drift-free bandit: segments whose transactions are worth the same.
        pool_rows, pool_of = np.unique(weight.reshape(len(segments), -1), axis=0,
                                       return_inverse=True)  # fmt: skip
        pool_lam = np.zeros((len(pool_rows), *lam.shape[1:]))  # (C, S, K + 1)
        np.add.at(pool_lam, pool_of.ravel(), lam)
        by_month = (1, 2, 0)  # the kernel draws a month's pools side by side: (S, K + 1, C)
        pool_tables = self._memo(
            "_poisson_tables",
            (segments, batch_size, "pooled"),
            lambda: _kernels.poisson_tables(pool_lam.transpose(by_month)),
        )
        arm = np.arange(n_arms)
        kind = np.where(arm > 0, (arm - 1) // s_max, 0)
        duration = np.where(arm > 0, (arm - 1) % s_max + 1, 0)
        arm_index = np.where(np.arange(s_max)[None, :] < duration[:, None], 1 + kind[:, None], 0)
        resource = arm_table(m.resource_per_member(), segments) * members[:, None]
        kp = _kernels.PromoKernelParams(
            baseline=baseline,
            lift=lift,
            members=members,
            contribution=contribution.astype(np.float64),
            fare=fare,
            cost=m.cost.copy(),
            disc=disc,
            base_profit=base_profit,
            counted=np.ones(len(segments), dtype=np.int64),
            weight=weight,
            dist=dist,
            cdf=cdf,
            guide=guide,
            window=window,
            alias=alias,
            arm_kind=kind,
            arm_index=np.ascontiguousarray(arm_index),
            exp0=expected,
            best0=int(np.argmax(expected)),
            uplift0=uplift0,
            uplift1=np.ascontiguousarray(uplift1),
            drift_sd=drift_sd,
            drift_log_max=float(np.log(drift_max)),
            reward_scale=reward_scale,
            horizon=horizon,
            n_arms=n_arms,
            n_months=s_max,
            rule=rule,
            resource=np.ascontiguousarray(resource),
            budget=-1.0 if budget is None else budget,
            pool_weight=np.ascontiguousarray(
                pool_rows.reshape(-1, *weight.shape[1:]).transpose(by_month)
            ),
            pool_dist=pool_tables[0],
            pool_cdf=pool_tables[1],
            pool_guide=pool_tables[2],
            pool_window=pool_tables[3],
            pool_alias=pool_tables[4],
            pool_base=float(base_profit.sum()),
        )
        for value in kp:  # shared by every env of these params and arguments: read-only
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        return kp


def bgbb_for_facts(
    full: float = 3.10, none: float = 0.03, share_none: float = 0.905, mean_dropout: float = 0.10
) -> NDArray[np.float64]:
    """BG/BB parameters matching the paper's facts plus a mean monthly dropout probability.

    The paper reports three facts (a customer active in all 6 months expects ``full``
    transactions in the next 5; one with no repeat purchase expects ``none``; that group is
    ``share_none`` of the cohort); four parameters need a fourth condition, the mean dropout
    probability gamma / (gamma + delta).
    """
    from scipy.optimize import least_squares

    def residual(theta: NDArray[np.float64]) -> NDArray[np.float64]:
        m = BGBB(*np.exp(theta))
        return np.array([
            float(m.conditional_expected_transactions(5, 6, 6, 6)) - full,
            10 * (float(m.conditional_expected_transactions(5, 0, 0, 6)) - none),
            10 * (float(m.pmf(0, 6)) - share_none),
            10 * (m.gamma / (m.gamma + m.delta) - mean_dropout),
        ])  # fmt: skip

    sol = least_squares(residual, np.log([0.1, 2.5, 0.45, 4.0]), xtol=1e-15, ftol=1e-15)
    return np.exp(sol.x)
