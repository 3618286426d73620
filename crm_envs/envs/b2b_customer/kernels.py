"""Numba dynamics of the B2B customer relationship (Fan 2015, Essay 2, sections 2.2 and 2.4).

One place for the model's arithmetic: the environment, the (belief, TSLP) solver, the
simulator and the HMM fit all call these functions.

Month ``t`` (the timing of Essay 2's Bayes update, section 2.4.3): the firm spends ``m``;
the relationship moves from ``s`` to ``s'`` (logit transition forces, Table 3 structure); the
customer buys level ``y`` drawn from ``s'`` (ordered logit, Table 3 structure); a purchase comes
with a promotion offer with the customer's promotion rate. The promotion offer of this month's
purchase raises next month's low -> high force; a maintenance interaction (monthly rate, not
seen by the marketing planner) raises this month's high -> high force. TSLP is 1 after a
purchase and grows by one (capped at ``max_tslp``) otherwise.

Recency class ``k`` (the observed part of the state): ``k = 0`` means "bought last month with a
promotion offer" (TSLP 1, promotion flag on), ``k >= 1`` means TSLP ``k`` without a promotion
flag. Classes run 0..max_tslp.

The per-customer intercepts live in a ``customer`` row (``C_*`` columns below) so that a whole
customer base can share one set of slopes (:func:`~crm_envs.papers.fan2015.portfolio.portfolio`).

The env's kernels are :func:`start_one` and :func:`advance_one` in the ABI of
:mod:`crm_envs.core.kernels` (:data:`KERNELS` is the shared driver compiled around them).
Their ``kp`` is a :class:`B2BDriverParams`: the model's :class:`B2BKernelParams` fields plus the
month's probabilities for grid actions, tabled once per params and read at offsets rather
than as row arrays of their own, the action kind and the reward scale (applied in
:func:`advance_one`, the one place). The info arrays ``extra = (belief, open_loop_belief,
state, purchase_level)`` are written by the kernels, so nothing is left for Python to do per
step.

Integer state per copy: ``S_STATE`` (true relationship), ``S_CLASS`` (recency class),
``S_LEVEL`` (last purchase level), ``S_T`` (months done), then the driver's ``DONE``, random
key and counter. Float state: ``F_BELIEF``, ``F_OPEN`` (open-loop belief), ``F_SPEND`` (last
spend) and, for Box (continuous) spends only, ``2 L`` columns from ``F_SCRATCH`` where the
month's purchase-level probabilities of copy ``i``'s spend are worked out (low state, then
high). There are no reset requests: every episode starts from the initial belief.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from numpy.typing import NDArray

from crm_envs.core.kernels import CTR, DRIVER_COLUMNS, KEY, make_kernels
from crm_envs.core.rng import splitmix_uniform
from crm_envs.envs.b2b_customer.belief import bayes_update, open_loop

# Columns of a customer row.
C_LOW_HIGH, C_HIGH_HIGH, C_UTIL_LOW, C_UTIL_HIGH, C_CUT_SCALE = 0, 1, 2, 3, 4
C_PROMO, C_MAINT, C_INITIAL = 5, 6, 7
CUSTOMER_WIDTH = 8

# Integer state columns, then the driver's DONE, KEY and CTR (crm_envs.core.kernels).
S_STATE, S_CLASS, S_LEVEL, S_T = 0, 1, 2, 3
STATE_WIDTH = 4 + DRIVER_COLUMNS
# Float state columns: belief, open-loop belief, last spend, then the Box spends' scratch.
F_BELIEF, F_OPEN, F_SPEND, F_SCRATCH = 0, 1, 2, 3


def float_width(n_levels: int, continuous: bool) -> int:
    """Columns of ``fstate``: three, plus ``2 * n_levels`` of scratch for Box spends."""
    return F_SCRATCH + (2 * n_levels if continuous else 0)


OBS_PURCHASE, OBS_BELIEF, OBS_STATE = 0, 1, 2
OBS_WIDTH = (4, 3, 3)


class B2BKernelParams(NamedTuple):
    """Slopes shared by customers plus one customer row (built by ``B2BCustomerParams``).

    Attributes:
        revenue: (L,) revenue of each purchase level.
        spend_cost: Cost of one unit of spend.
        max_spend: Largest spend (the last grid point).
        cut_points: (L-1,) increasing ordered-logit cut points (before the customer's scale).
        u_spend: (2,) emission utility slope on spend, per state.
        u_spend_sq: (2,) emission utility slope on spend squared.
        u_log_spend: (2,) emission utility slope on ln(1 + spend).
        u_scale: (2,) scale of the emission error, per state.
        lh_spend: Low -> high force slope on spend.
        lh_spend_sq: Low -> high force slope on spend squared.
        lh_promo: Low -> high force of a promotion offer with last month's purchase.
        lh_log_tslp: Low -> high force slope on ln(TSLP).
        hh_spend: High -> high force slope on spend.
        hh_spend_sq: High -> high force slope on spend squared.
        hh_maint: High -> high force of a maintenance interaction.
        hh_log_tslp: High -> high force slope on ln(TSLP).
        max_tslp: Largest TSLP.
        customer: (8,) the customer row (intercepts, cut scale, rates, initial belief).
        horizon: Months per episode.
        obs_mode: 0 purchase, 1 belief, 2 state.
        discount: Monthly discount factor (used by the planner, not the env).
    """

    revenue: NDArray[np.float64]
    spend_cost: float
    max_spend: float
    cut_points: NDArray[np.float64]
    u_spend: NDArray[np.float64]
    u_spend_sq: NDArray[np.float64]
    u_log_spend: NDArray[np.float64]
    u_scale: NDArray[np.float64]
    lh_spend: float
    lh_spend_sq: float
    lh_promo: float
    lh_log_tslp: float
    hh_spend: float
    hh_spend_sq: float
    hh_maint: float
    hh_log_tslp: float
    max_tslp: int
    customer: NDArray[np.float64]
    horizon: int
    obs_mode: int
    discount: float


@njit(cache=True, inline="always")
def _logistic(x):
    if x >= 0.0:
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(x)
    return e / (1.0 + e)


@njit(cache=True, inline="always")
def tslp_of(k):
    """TSLP of recency class ``k`` (class 0 is TSLP 1 with a promotion flag)."""
    return 1 if k == 0 else k


@njit(cache=True, inline="always")
def next_class(kp, k, level, promoted):
    """Recency class after a month with purchase ``level`` (``promoted``: offer came with it)."""
    if level > 0:
        return 0 if promoted else 1
    return min(tslp_of(k) + 1, kp.max_tslp)


@njit(cache=True)
def transition_probs(kp, cust, spend, k):
    """``(q01, q11_plain, q11_maint)`` for spend ``spend`` in recency class ``k``.

    ``q01`` includes the promotion force when ``k == 0``; ``q11_maint`` is the high -> high
    probability in a month with a maintenance interaction, ``q11_plain`` without one.
    """
    lt = np.log(tslp_of(k))
    x01 = cust[C_LOW_HIGH] + kp.lh_spend * spend + kp.lh_spend_sq * spend * spend
    x01 += kp.lh_log_tslp * lt + (kp.lh_promo if k == 0 else 0.0)
    x11 = cust[C_HIGH_HIGH] + kp.hh_spend * spend + kp.hh_spend_sq * spend * spend
    x11 += kp.hh_log_tslp * lt
    return _logistic(x01), _logistic(x11), _logistic(x11 + kp.hh_maint)


@njit(cache=True, inline="always")
def q11_expected(cust, q11_plain, q11_maint):
    """High -> high probability the planner uses: maintenance averaged at its monthly rate."""
    m = cust[C_MAINT]
    return (1.0 - m) * q11_plain + m * q11_maint


@njit(cache=True)
def emission_probs(kp, cust, state, spend, out):
    """Write ``P(level | state, spend)`` for levels 0..L-1 into ``out`` (ordered logit)."""
    u = cust[C_UTIL_HIGH] if state == 1 else cust[C_UTIL_LOW]
    u += kp.u_spend[state] * spend + kp.u_spend_sq[state] * spend * spend
    u += kp.u_log_spend[state] * np.log1p(spend)
    scale = kp.u_scale[state]
    n_cut = kp.cut_points.shape[0]
    prev = 1.0  # P(level > l - 1)
    for j in range(n_cut):
        above = _logistic((u - kp.cut_points[j] * cust[C_CUT_SCALE]) / scale)
        out[j] = prev - above
        prev = above
    out[n_cut] = prev


@njit(cache=True, inline="always")
def _draw_at(probs, off, n, u):
    """Level drawn by inverting the CDF of ``probs[off : off + n]`` at ``u``.

    The loop stops at the first cumulative sum above ``u``. Counting the sums at or below
    ``u`` instead (no early exit, so no mispredicted exit) made Essay 1 18-23% faster but
    B2BCustomer 13-27% slower, whose customer mostly buys nothing: its loop exits at once.
    """
    acc = 0.0
    for j in range(n - 1):
        acc += probs[off + j]
        if u < acc:
            return j
    return n - 1


@njit(cache=True, inline="always")
def draw_level(probs, u):
    """Inverse-CDF draw of a level from ``probs`` with uniform ``u``."""
    return _draw_at(probs, 0, probs.shape[0], u)


@njit(cache=True, inline="always")
def advance_at(
    s, b, bo, k, q01, q11p, q11m, cust, e_low, lo, e_high, hi, n_lev, revenue, cost, key, ctr
):  # fmt: skip
    """:func:`advance` with the purchase-level probabilities read at offsets of flat arrays.

    ``P(level = j | low)`` is ``e_low[lo + j]`` and ``P(level = j | high)`` is
    ``e_high[hi + j]`` for ``j < n_lev``. The env's kernel reads its tables this way: taking
    a row of a table as an array of its own costs more than the rest of the month.
    """
    maint = splitmix_uniform(key, ctr) < cust[C_MAINT]
    q11 = q11m if maint else q11p
    up = splitmix_uniform(key, ctr + 1) < (q11 if s == 1 else q01)
    s2 = 1 if up else 0
    u = splitmix_uniform(key, ctr + 2)
    # The new state's table chosen by selects, not a branch: a branch on the random state
    # mispredicts often (Essay 1's customer moves between states every few months).
    probs = e_high if up else e_low
    level = _draw_at(probs, hi if up else lo, n_lev, u)
    promoted = (level > 0) & (splitmix_uniform(key, ctr + 3) < cust[C_PROMO])
    q11e = q11_expected(cust, q11p, q11m)
    b2 = bayes_update(open_loop(b, q01, q11e), e_high[hi + level], e_low[lo + level])
    bo2 = open_loop(bo, q01, q11e)
    return s2, level, promoted, b2, bo2, revenue[level] - cost


@njit(cache=True, inline="always")
def advance(s, b, bo, k, q01, q11p, q11m, cust, e_low, e_high, revenue, cost, key, ctr):
    """One month for one customer, given the month's probabilities (see the module docstring).

    Args:
        s: True relationship state (0 low, 1 high).
        b: Bayes belief P(high) before the month.
        bo: Open-loop (HMM) belief before the month.
        k: Recency class.
        q01: Low -> high probability (promotion force included when k == 0).
        q11p: High -> high probability without a maintenance interaction.
        q11m: High -> high probability with one.
        cust: The customer row (rates).
        e_low: (L,) purchase-level probabilities in the low state at this spend.
        e_high: (L,) the same in the high state.
        revenue: (L,) revenue of each purchase level.
        cost: Cost of this month's spend.
        key: Random-stream key.
        ctr: Counter of the first of the four uniforms this month uses.

    Returns:
        ``(s', level, promoted, b', bo', reward)``; the next recency class is
        ``next_class(kp, k, level, promoted)``.
    """
    return advance_at(
        s, b, bo, k, q01, q11p, q11m, cust, e_low, 0, e_high, 0, e_low.shape[0], revenue, cost,
        key, ctr,
    )  # fmt: skip


RANDOM_PER_MONTH = 4
"""Uniforms each month consumes from a copy's stream (maintenance, state, level, promotion)."""


_B2BDriverFields = NamedTuple(  # functional form: the fields are built, not typed out twice
    "_B2BDriverFields",
    [
        *B2BKernelParams.__annotations__.items(),  # the model's fields, in their order
        ("grid", NDArray[np.float64]),
        ("emis", NDArray[np.float64]),
        ("q01", NDArray[np.float64]),
        ("q11_plain", NDArray[np.float64]),
        ("q11_maint", NDArray[np.float64]),
        ("continuous", bool),
        ("reward_scale", float),
    ],
)


class B2BDriverParams(_B2BDriverFields):
    """The env kernels' ``kp``: the model's parameters and the month's tabled probabilities.

    The fields of :class:`B2BKernelParams`, in its order (so every model function takes a
    ``B2BDriverParams`` as its ``kp``), then the tables. The tuple is flat: numba's parallel
    build does not pass a tuple nested in ``kp`` into its loop.

    Every transcendental function of a month depends only on the params, the spend and the
    recency class, so for grid actions the env tables them once per params with
    :func:`~crm_envs.envs.b2b_customer.solver.month_tables` (the planner's tables): a tabled
    step equals a direct one. Box (continuous) spends are computed directly every step.

    Attributes:
        grid: (K,) spend of each discrete action.
        emis: (2 * K * L,) ``P(level | state, spend)``, flat: ``emis[(s * K + a) * L + level]``.
        q01: (K, max_tslp + 1) low -> high probability per spend index and recency class.
        q11_plain: (K, max_tslp + 1) high -> high without a maintenance interaction.
        q11_maint: (K, max_tslp + 1) high -> high with one.
        continuous: True when the actions are spends in dollars (an (N,) float64 array, from
            Box actions), False for grid indices (an (N,) int64 array).
        reward_scale: Multiplier of the dollar reward, applied in :func:`advance_one`.
    """

    __slots__ = ()

    def model(self) -> B2BKernelParams:
        """The model's :class:`B2BKernelParams` (the leading fields)."""
        return B2BKernelParams(*self[: len(B2BKernelParams._fields)])


def driver_params(
    model: B2BKernelParams,
    grid: NDArray[np.float64],
    continuous: bool,
    reward_scale: float,
    tables: tuple[NDArray[np.float64], ...],
) -> B2BDriverParams:
    """The env kernels' ``kp``: ``model``'s fields, then the grid, tables, action kind, scale.

    Args:
        model: The model's kernel parameters.
        grid: (K,) spend levels.
        continuous: Actions are spends (Box) rather than grid indices.
        reward_scale: Multiplier of the dollar reward.
        tables: ``(E, Q01, Q11P, Q11M)`` of
            :func:`~crm_envs.envs.b2b_customer.solver.month_tables` for ``grid``.
    """
    emis, q01, q11p, q11m = tables
    return B2BDriverParams(
        *model, grid, emis.reshape(-1), q01, q11p, q11m, bool(continuous), float(reward_scale)
    )


@njit(cache=True, inline="always")
def _write_obs(kp, fstate, istate, i, obs, extra):
    """Write the observation and the info arrays of copy ``i``."""
    k = istate[i, S_CLASS]
    promo = 1.0 if k == 0 else 0.0
    tslp = tslp_of(k)
    if kp.obs_mode == OBS_PURCHASE:
        obs[i, 0] = istate[i, S_LEVEL]
        obs[i, 1] = tslp
        obs[i, 2] = promo
        obs[i, 3] = fstate[i, F_SPEND]
    else:
        obs[i, 0] = fstate[i, F_BELIEF] if kp.obs_mode == OBS_BELIEF else istate[i, S_STATE]
        obs[i, 1] = tslp
        obs[i, 2] = promo
    # Indexed, not tuple-unpacked: numba 0.68's parallel build lost writes into arrays
    # unpacked from ``extra`` inside prange (see the promotion kernels).
    extra[0][i] = fstate[i, F_BELIEF]
    extra[1][i] = fstate[i, F_OPEN]
    extra[2][i] = istate[i, S_STATE]
    extra[3][i] = istate[i, S_LEVEL]


@njit(cache=True, inline="always")
def start_one(kp, fstate, istate, i, obs, extra):
    """Start copy ``i``: state drawn from the initial belief (one uniform), TSLP 1, no flag."""
    b0 = kp.customer[C_INITIAL]
    u = splitmix_uniform(istate[i, KEY], istate[i, CTR])
    istate[i, CTR] += 1
    istate[i, S_STATE] = 1 if u < b0 else 0
    istate[i, S_CLASS] = 1
    istate[i, S_LEVEL] = 0
    istate[i, S_T] = 0
    fstate[i, F_BELIEF] = b0
    fstate[i, F_OPEN] = b0
    fstate[i, F_SPEND] = 0.0
    _write_obs(kp, fstate, istate, i, obs, extra)


@njit(cache=True, inline="always")
def advance_one(kp, fstate, istate, i, actions, obs, rew, extra):
    """One month of copy ``i`` with spend ``actions[i, 0]`` (see the module docstring).

    Grid actions read the tabled probabilities; a Box spend computes them, the purchase-level
    probabilities into the copy's scratch columns. The month draws :data:`RANDOM_PER_MONTH`
    uniforms (maintenance, state, level, promotion). The reward is (revenue minus spend cost)
    times ``kp.reward_scale``. Never terminated; truncated after ``horizon`` months.
    """
    n_lev = kp.revenue.shape[0]
    k = istate[i, S_CLASS]
    if kp.continuous:
        m = np.float64(actions[i, 0])
        q01, q11p, q11m = transition_probs(kp, kp.customer, m, k)
        row = fstate[i]
        lo, hi = F_SCRATCH, F_SCRATCH + n_lev
        emission_probs(kp, kp.customer, 0, m, row[lo:hi])
        emission_probs(kp, kp.customer, 1, m, row[hi : hi + n_lev])
        s2, level, promoted, b2, bo2, r = advance_at(
            istate[i, S_STATE], fstate[i, F_BELIEF], fstate[i, F_OPEN], k, q01, q11p, q11m,
            kp.customer, row, lo, row, hi, n_lev, kp.revenue, kp.spend_cost * m,
            istate[i, KEY], istate[i, CTR],
        )  # fmt: skip
    else:
        a = np.int64(actions[i, 0])
        m = kp.grid[a]
        n_act = kp.grid.shape[0]
        s2, level, promoted, b2, bo2, r = advance_at(
            istate[i, S_STATE], fstate[i, F_BELIEF], fstate[i, F_OPEN], k, kp.q01[a, k],
            kp.q11_plain[a, k], kp.q11_maint[a, k], kp.customer, kp.emis, a * n_lev,
            kp.emis, (n_act + a) * n_lev, n_lev, kp.revenue, kp.spend_cost * m,
            istate[i, KEY], istate[i, CTR],
        )  # fmt: skip
    istate[i, CTR] += RANDOM_PER_MONTH
    istate[i, S_STATE] = s2
    istate[i, S_CLASS] = next_class(kp, k, level, promoted)
    istate[i, S_LEVEL] = level
    istate[i, S_T] += 1
    fstate[i, F_BELIEF] = b2
    fstate[i, F_OPEN] = bo2
    fstate[i, F_SPEND] = m
    rew[i] = r * kp.reward_scale
    _write_obs(kp, fstate, istate, i, obs, extra)
    return False, istate[i, S_T] >= kp.horizon


KERNELS = make_kernels(start_one, advance_one, "b2b")
"""The B2B customer's compiled driver (reset and step, parallel and serial, pure Python)."""
