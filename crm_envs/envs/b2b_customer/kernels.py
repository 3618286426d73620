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

The env's step (:func:`b2b_step`) reads the month's probabilities for grid actions from
tables built once per params (:class:`B2BStepTables`), at offsets rather than as row arrays
of their own, writes the info arrays (beliefs, true state, purchase level) into preallocated
buffers and applies the reward scale itself, so nothing is left for Python to do per step.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from crm_envs.core.jit import parallel_and_serial
from crm_envs.core.rng import splitmix_uniform
from crm_envs.envs.b2b_customer.belief import bayes_update, open_loop

# Columns of a customer row.
C_LOW_HIGH, C_HIGH_HIGH, C_UTIL_LOW, C_UTIL_HIGH, C_CUT_SCALE = 0, 1, 2, 3, 4
C_PROMO, C_MAINT, C_INITIAL = 5, 6, 7
CUSTOMER_WIDTH = 8

# Integer state columns (the float state holds belief, open-loop belief, last spend).
S_STATE, S_CLASS, S_LEVEL, S_T, S_DONE, S_KEY, S_CTR = 0, 1, 2, 3, 4, 5, 6
INT_WIDTH = 7
F_BELIEF, F_OPEN, F_SPEND = 0, 1, 2
FLOAT_WIDTH = 3

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
    level = _draw_at(e_high, hi, n_lev, u) if s2 == 1 else _draw_at(e_low, lo, n_lev, u)
    promoted = level > 0 and splitmix_uniform(key, ctr + 3) < cust[C_PROMO]
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


class B2BStepTables(NamedTuple):
    """What the env's step reads besides ``B2BKernelParams``: the month's tabled probabilities.

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
        continuous: True when actions are spends (Box), False for grid indices.
        reward_scale: Multiplier of the dollar reward, applied in the kernel.
    """

    grid: NDArray[np.float64]
    emis: NDArray[np.float64]
    q01: NDArray[np.float64]
    q11_plain: NDArray[np.float64]
    q11_maint: NDArray[np.float64]
    continuous: bool
    reward_scale: float


@njit(cache=True, inline="always")
def _write_obs(kp, fstate, istate, i, obs_out, belief_out, open_out, state_out, level_out):
    k = istate[i, S_CLASS]
    promo = 1.0 if k == 0 else 0.0
    tslp = tslp_of(k)
    if kp.obs_mode == OBS_PURCHASE:
        obs_out[i, 0] = istate[i, S_LEVEL]
        obs_out[i, 1] = tslp
        obs_out[i, 2] = promo
        obs_out[i, 3] = fstate[i, F_SPEND]
    else:
        obs_out[i, 0] = fstate[i, F_BELIEF] if kp.obs_mode == OBS_BELIEF else istate[i, S_STATE]
        obs_out[i, 1] = tslp
        obs_out[i, 2] = promo
    belief_out[i] = fstate[i, F_BELIEF]
    open_out[i] = fstate[i, F_OPEN]
    state_out[i] = istate[i, S_STATE]
    level_out[i] = istate[i, S_LEVEL]


@njit(cache=True, inline="always")
def _start(kp, fstate, istate, i, obs_out, belief_out, open_out, state_out, level_out):
    b0 = kp.customer[C_INITIAL]
    u = splitmix_uniform(istate[i, S_KEY], istate[i, S_CTR])
    istate[i, S_CTR] += 1
    istate[i, S_STATE] = 1 if u < b0 else 0
    istate[i, S_CLASS] = 1
    istate[i, S_LEVEL] = 0
    istate[i, S_T] = 0
    istate[i, S_DONE] = 0
    fstate[i, F_BELIEF] = b0
    fstate[i, F_OPEN] = b0
    fstate[i, F_SPEND] = 0.0
    _write_obs(kp, fstate, istate, i, obs_out, belief_out, open_out, state_out, level_out)


def _b2b_reset(kp, fstate, istate, obs_out, belief_out, open_out, state_out, level_out):
    """Start an episode in every copy: state drawn from the initial belief, TSLP 1.

    Args:
        kp: ``B2BKernelParams``.
        fstate: (N, 3) float64 state (belief, open-loop belief, last spend), written.
        istate: (N, 7) int64 state, written (key and counter kept).
        obs_out: (N, D) float32 observations, written.
        belief_out: (N,) float64 Bayes belief (``info["belief"]``), written.
        open_out: (N,) float64 open-loop belief (``info["open_loop_belief"]``), written.
        state_out: (N,) int64 true state (``info["state"]``), written.
        level_out: (N,) int64 last purchase level (``info["purchase_level"]``), written.
    """
    for i in prange(fstate.shape[0]):
        _start(kp, fstate, istate, i, obs_out, belief_out, open_out, state_out, level_out)


def _b2b_step(
    kp, tab, fstate, istate, action, spend, scratch, obs_out, rew_out, term_out, trunc_out,
    belief_out, open_out, state_out, level_out,
):  # fmt: skip
    """Advance every copy by one month (copies whose episode ended are reset instead).

    Args:
        kp: ``B2BKernelParams``.
        tab: ``B2BStepTables`` (grid, tabled probabilities, action kind, reward scale).
        fstate: (N, 3) float64 state, modified in place.
        istate: (N, 7) int64 state, modified in place.
        action: (N,) int64 validated spend-grid indices (read unless ``tab.continuous``).
        spend: (N,) float64 validated spends in [0, max_spend] (read if ``tab.continuous``).
        scratch: (N, 2, L) float64 work space for the purchase-level probabilities of
            continuous spends (a (1, 2, L) dummy for grid actions).
        obs_out: (N, D) float32 observations, written.
        rew_out: (N,) float64 (revenue minus spend cost) times ``tab.reward_scale``, written.
        term_out: (N,) bool, always False.
        trunc_out: (N,) bool, True after ``horizon`` months.
        belief_out: (N,) float64 Bayes belief, written.
        open_out: (N,) float64 open-loop belief, written.
        state_out: (N,) int64 true state, written.
        level_out: (N,) int64 purchase level, written.
    """
    continuous = tab.continuous
    n_lev = kp.revenue.shape[0]
    n_act = tab.grid.shape[0]
    flat_scratch = scratch.reshape(-1)
    for i in prange(fstate.shape[0]):
        term_out[i] = False
        if istate[i, S_DONE] != 0:
            _start(kp, fstate, istate, i, obs_out, belief_out, open_out, state_out, level_out)
            rew_out[i] = 0.0
            trunc_out[i] = False
            continue
        k = istate[i, S_CLASS]
        if continuous:
            m = spend[i]
            q01, q11p, q11m = transition_probs(kp, kp.customer, m, k)
            emission_probs(kp, kp.customer, 0, m, scratch[i, 0])
            emission_probs(kp, kp.customer, 1, m, scratch[i, 1])
            s2, level, promoted, b2, bo2, r = advance_at(
                istate[i, S_STATE], fstate[i, F_BELIEF], fstate[i, F_OPEN], k, q01, q11p, q11m,
                kp.customer, flat_scratch, 2 * i * n_lev, flat_scratch, (2 * i + 1) * n_lev,
                n_lev, kp.revenue, kp.spend_cost * m, istate[i, S_KEY], istate[i, S_CTR],
            )  # fmt: skip
        else:
            a = action[i]
            m = tab.grid[a]
            s2, level, promoted, b2, bo2, r = advance_at(
                istate[i, S_STATE], fstate[i, F_BELIEF], fstate[i, F_OPEN], k, tab.q01[a, k],
                tab.q11_plain[a, k], tab.q11_maint[a, k], kp.customer, tab.emis, a * n_lev,
                tab.emis, (n_act + a) * n_lev, n_lev, kp.revenue, kp.spend_cost * m,
                istate[i, S_KEY], istate[i, S_CTR],
            )  # fmt: skip
        istate[i, S_CTR] += RANDOM_PER_MONTH
        istate[i, S_STATE] = s2
        istate[i, S_CLASS] = next_class(kp, k, level, promoted)
        istate[i, S_LEVEL] = level
        istate[i, S_T] += 1
        fstate[i, F_BELIEF] = b2
        fstate[i, F_OPEN] = bo2
        fstate[i, F_SPEND] = m
        rew_out[i] = r * tab.reward_scale
        trunc = istate[i, S_T] >= kp.horizon
        istate[i, S_DONE] = trunc
        trunc_out[i] = trunc
        _write_obs(kp, fstate, istate, i, obs_out, belief_out, open_out, state_out, level_out)


b2b_reset, b2b_reset_serial = parallel_and_serial(_b2b_reset, "b2b_reset")
b2b_step, b2b_step_serial = parallel_and_serial(_b2b_step, "b2b_step")
