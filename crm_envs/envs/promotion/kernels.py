"""Numba kernel of a promotion campaign cycle (batch-first, preallocated).

One step = one campaign cycle over the planning horizon. Each segment j (group x contribution
level) runs the arm ``arms[i, j]``: 0 = no promotion, ``1 + k * S + (D - 1)`` = promotion k for
D months. In month s the segment's transactions are Poisson with mean
``members_j * (baseline[j, s] + [s < D] * lift[j, k, s] * drift[i, j])``. Profit is ``sum_s
disc_s (c_j n_s - [s < D] cost_k fare_j n_s)``; the reward is the profit of the counted segments
minus their expected baseline profit, so its expectation is the plan's uplift. With
``drift_sd > 0`` each segment's lift is multiplied by ``exp(x)``, where the log multiplier ``x``
starts at 0 and after every cycle takes a normal step of s.d. ``drift_sd``, reflected at
``+-log(drift_max)``: a bounded random walk, so the multiplier always lies in ``[1 /
drift_max, drift_max]`` and never sticks at a bound.

Poisson sampler (issue 18). Every draw is Poisson(mean) capped at :func:`poisson_draw_bound`
(the mass above the cap is put on the cap; it is below 3.3e-13 for every mean, largest near a
mean of 31, so the observation bounds stay finite):

* Means that depend only on the params and the arm (every month without drift, and the
  unpromoted months with drift) are drawn from exact alias tables built once per params
  (:func:`poisson_tables`): one uniform and one table entry per draw. Probabilities are kept in
  integer units of 2**-53 (the resolution of a uniform), so each value's probability is exact
  to about ``K * 2**-53`` (below 1.2e-13) for a table of ``K`` entries; a table covers a central
  window of values and a tail entry (mass <= :data:`TAIL_MASS`) whose draws are redone by
  inversion of the CDF outside the window.
* Means that move with the drift (promoted months with ``drift_sd > 0``) are drawn by
  sequential inversion below a mean of 10 and by Hörmann's (1993) exact transformed rejection
  (PTRS, as in NumPy) from 10 up.

Before issue 18 the kernel drew means below 30 by Knuth's product of uniforms (exact, capped at
77) and means from 30 up by a rounded normal approximation. The draws are now exact Poisson
throughout (the same capped Poisson as Knuth's branch below 30; above it the normal
approximation is replaced by the model's exact distribution, under the same caps, so the
observation space is unchanged). Seeded trajectories differ from those of earlier versions.

Kernel ABI (:mod:`crm_envs.core.kernels`): float state (N, J), the log drift multipliers; int
state (N, 4), ``T`` (cycles done), then the driver's ``DONE``, random-stream key and counter.
There are no reset requests (the one reset option, ``params``, swaps the kernel parameters).
The two variants have their own ``start_one``/``advance_one`` pair around one shared cycle
(:func:`run_cycle`), as their observations and info arrays differ:

* the bandit (:data:`BANDIT_KERNELS`): actions (N,) arms, one for every segment; observation
  (N,) always 0; ``extra = (expected_rewards (N, A), best_arm (N,), regret (N,))``. Without
  drift it draws one count per pool of equally valued segments and month
  (:func:`run_pooled_cycle`): the reward's distribution is the same, since a sum of
  independent Poisson counts is Poisson with the summed mean. The bandit observes only the
  reward, so nothing else needs the segments' own counts. Seeded bandit trajectories
  therefore differ from those before this change (issue 18; 42 segments make 25 pools);
* the campaign (:data:`CAMPAIGN_KERNELS`): actions (N, J) plans, checked against the business
  rule and the budget by :func:`plan_check_one` in ``advance_one`` (a rejected plan runs no
  promotion); observation (N, 2 J); ``extra = (rejected (N,), over_budget (N,))``.
"""

from __future__ import annotations

from math import lgamma
from typing import NamedTuple

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from crm_envs.core.jit import parallel_and_serial
from crm_envs.core.kernels import CTR, DRIVER_COLUMNS, KEY, make_kernels
from crm_envs.core.rng import NORMAL_MAX, splitmix_bits, splitmix_normal, splitmix_uniform

T = 0
STATE_WIDTH = 1 + DRIVER_COLUMNS
"""Columns of ``istate``: ``T`` (cycles done), then the driver's ``DONE``, key and counter."""
CAP_SWITCH = 30.0
"""Mean from which the draw cap grows with the mean (below it, the cap is :data:`SMALL_CAP`)."""
SMALL_CAP = float(np.floor(CAP_SWITCH + np.sqrt(CAP_SWITCH) * NORMAL_MAX + 0.5))
"""Cap of the draws at means below :data:`CAP_SWITCH` (77)."""
PTRS_MIN = 10.0
"""Drifting means from this value up are drawn by PTRS, below it by sequential inversion."""
LOW_TAIL = 2.0**-64
"""Mass below the first tabled value (put on that value): far below a uniform's 2**-53."""


def poisson_draw_bound(lam: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """The largest number of events the kernel's Poisson sampler can return for mean ``lam``.

    ``max(77, floor(lam + NORMAL_MAX sqrt(lam) + 0.5))`` for means from 30 up, 77 below: a
    Poisson draw exceeds it with probability below 3.3e-13 at any mean.

    Args:
        lam: Mean(s) >= 0.

    Returns:
        The bound(s), increasing in ``lam``.
    """
    lam = np.asarray(lam, dtype=np.float64)
    normal = np.floor(lam + np.sqrt(lam) * NORMAL_MAX + 0.5)
    return np.where(lam >= CAP_SWITCH, np.maximum(normal, SMALL_CAP), SMALL_CAP)


def poisson_tables(
    lam: NDArray[np.float64],
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int32], NDArray[np.int64],
           NDArray[np.int64]]:  # fmt: skip
    """Sampling tables of capped Poisson distributions, one per mean.

    Inversion: distribution ``d`` takes the values ``lo + i`` for ``i = 0, 1, ...`` with CDF
    ``cdf[off + i]`` (the last entry is 1: the mass above is put on that value, the mass below
    ``lo`` on ``lo``). Its guide table ``guide[goff + g]``, ``g < G``, is the first ``i`` with
    ``cdf[off + i] > g / G``, so a uniform ``u`` maps to the first ``i >= guide[goff +
    floor(u G)]`` with ``cdf[off + i] > u`` after about two comparisons (:func:`cdf_draw`).

    Alias (the fast path, :func:`alias_draw`): the probabilities, rounded to multiples of
    2**-53 (the resolution of a uniform; they telescope from the CDF, so they sum to 1
    exactly), of the central values ``c_lo .. c_lo + W - 1`` and, as entry ``W``, of all the
    others together (the tails, at most :data:`TAIL_MASS`; a window is at most
    :data:`ALIAS_MAX` - 1 values wide), split by Walker's alias method in exact integer
    arithmetic (Vose 1991): each of the ``K`` entries is an int64 ``(t << 10) | alias``, kept
    with probability ``t / 2**53``, else the alias entry. A draw that lands on the tail entry
    is redrawn from the tails by inversion.

    Args:
        lam: (D,) means >= 0.

    Returns:
        ``dist`` (D, 4) int64 rows ``(lo, off, G, goff)``; the concatenated CDFs and guides;
        ``window`` (D, 4) int64 rows ``(c_lo, aoff, K, W)``; the concatenated alias entries.
        A draw on the alias path reads only its ``window`` row (one cache line, besides the
        entry): it holds the window's first value itself, not its offset from ``lo``.
    """
    from scipy.stats import poisson

    lam = np.asarray(lam, dtype=np.float64).ravel()
    caps = poisson_draw_bound(lam).astype(np.int64)
    pos = lam > 0.0
    lo = np.zeros(lam.size, dtype=np.int64)
    lo[pos] = np.minimum(poisson.ppf(LOW_TAIL, lam[pos]), caps[pos])
    sizes = np.where(pos, caps - lo + 1, 1)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    owner = np.repeat(np.arange(lam.size), sizes)
    ks = lo[owner] + np.arange(starts[-1]) - starts[owner]
    mean = lam[owner]
    # Lower half from the CDF, upper half from the survival function: each is accurate where
    # it is small, so both tails keep their resolution.
    with np.errstate(invalid="ignore"):
        flat = np.where(ks < mean, poisson.cdf(ks, mean), 1.0 - poisson.sf(ks, mean))
    dist = np.zeros((lam.size, 4), dtype=np.int64)
    window = np.zeros((lam.size, 4), dtype=np.int64)
    cdfs, guides, aliases, off, aoff = [], [], [], 0, 0
    for d in range(lam.size):
        cdf = np.minimum(np.maximum.accumulate(flat[starts[d] : starts[d + 1]]), 1.0)
        cdf[-1] = 1.0
        cdf = cdf[: int(np.argmax(cdf >= 1.0)) + 1]  # values past the first 1 never occur
        size = cdf.size
        guides.append(np.searchsorted(cdf, np.arange(size) / size, side="right"))
        cdfs.append(cdf)
        dist[d] = (lo[d], off, size, off)
        off += size
        # Masses in units of 2**-53, differences of the rounded CDF: they sum to 2**53.
        ticks = np.round(cdf * _UNIT).astype(np.int64)
        mass = np.diff(np.concatenate([[0], ticks]))
        half = TAIL_MASS / 2 * _UNIT
        first = int(np.searchsorted(np.cumsum(mass), half, side="right"))
        last = size - 1 - int(np.searchsorted(np.cumsum(mass[::-1]), half, side="right"))
        first, last = min(first, last), max(first, last)
        if last - first + 1 > ALIAS_MAX - 1:  # too wide: the window around the mode
            mode = int(np.argmax(mass))
            first = max(0, min(mode - (ALIAS_MAX - 1) // 2, size - (ALIAS_MAX - 1)))
            last = first + ALIAS_MAX - 2
        central = mass[first : last + 1]
        tail = _UNIT - int(central.sum())
        weights = np.append(central, tail) if tail > 0 else central
        aliases.append(_vose(weights.astype(np.int64)))
        window[d] = (lo[d] + first, aoff, weights.size, central.size)
        aoff += weights.size
    return (dist, np.concatenate(cdfs), np.concatenate(guides).astype(np.int32), window,
            np.concatenate(aliases))  # fmt: skip


_UNIT = 2**53
"""Masses are counted in units of 2**-53, the resolution of a uniform."""
TAIL_MASS = 1e-3
"""Largest mass an alias table leaves to its tail entry (when the window is not capped)."""
ALIAS_MAX = 1024
"""Most entries of an alias table (10 bits of alias index)."""


@njit(cache=True)
def _vose(weights):
    """Alias entries ``(t << 10) | alias`` of integer ``weights`` summing to 2**53 (exact)."""
    k = weights.size
    unit = np.int64(1) << 53
    scaled = weights * k  # each entry's share of k buckets of 2**53
    out = np.zeros(k, dtype=np.int64)
    small = np.empty(k, dtype=np.int64)
    large = np.empty(k, dtype=np.int64)
    n_small = 0
    n_large = 0
    for i in range(k):
        if scaled[i] < unit:
            small[n_small] = i
            n_small += 1
        else:
            large[n_large] = i
            n_large += 1
    for i in range(k):
        out[i] = i  # a full bucket: its own value either way
    while n_small > 0 and n_large > 0:
        n_small -= 1
        s = small[n_small]
        g = large[n_large - 1]
        out[s] = (scaled[s] << 10) | g
        scaled[g] -= unit - scaled[s]
        if scaled[g] < unit:
            n_large -= 1
            small[n_small] = g
            n_small += 1
    return out


class PromoKernelParams(NamedTuple):
    """Arrays the kernel reads (built by ``PromotionTask``).

    Attributes:
        baseline: (J, S) expected transactions per member and month without promotion.
        lift: (J, K, S) true extra transactions per member in each promotion month.
        members: (J,) customers per segment.
        contribution: (J,) contribution per transaction.
        fare: (J,) fare per transaction (contribution / commission).
        cost: (K,) promotion cost as a fraction of the fare.
        disc: (S,) discount factor of each month.
        base_profit: (J,) expected discounted baseline profit.
        counted: (J,) 1 for segments whose profit enters the reward.
        weight: (J, S, K + 1) discounted value of one transaction in month s without
            promotion (last index 0) or under promotion k (index 1 + k).
        dist: (J * S * (K + 1), 4) inversion-table rows (:func:`poisson_tables`) of the
            drift-free mean of every segment, month and promotion index, flattened in that
            order.
        cdf: Concatenated CDFs of the tables.
        guide: Concatenated guide tables.
        window: (J * S * (K + 1), 4) alias-table rows of the same distributions.
        alias: Concatenated alias entries.
        arm_kind: (A,) promotion type k of each arm (0 for arm 0).
        arm_index: (A, S) promotion index of each arm in each month: 1 + k in the promotion's
            months, else 0.
        exp0: (A,) expected reward of every bandit arm without drift (scaled).
        best0: The arm with the highest ``exp0`` (the first of ties).
        uplift0: (A,) part of the expected reward that does not scale with the lift.
        uplift1: (J, A) part that scales with each segment's lift multiplier.
        drift_sd: Standard deviation of the log lift multiplier's step per cycle.
        drift_log_max: The log multiplier is reflected into ``[-drift_log_max,
            drift_log_max]``.
        reward_scale: Multiplier of the reward (e.g. 1e-3 for thousands).
        horizon: Cycles per episode.
        n_arms: Arms per segment ``A`` (valid arms ``0 .. A - 1``).
        n_months: Months ``S`` of the arm coding.
        rule: Business rule 1-4 of a campaign plan (3 for the bandit: one arm for all).
        resource: (J, A) resource of every segment and arm (members included).
        budget: Bound on a plan's resource per cycle, or -1 for none.
        pool_weight: (S, K + 1, C) value of one transaction of each of the C pools (segments
            whose ``weight`` rows are equal, pooled for the drift-free bandit,
            :func:`run_pooled_cycle`) in each month and promotion index.
        pool_dist, pool_cdf, pool_guide, pool_window, pool_alias: Sampling tables of each
            pool's summed mean, in the order of ``pool_weight`` (month, index, pool).
        pool_base: Expected baseline profit of all segments (the counted ones: every one).
    """

    baseline: NDArray[np.float64]
    lift: NDArray[np.float64]
    members: NDArray[np.float64]
    contribution: NDArray[np.float64]
    fare: NDArray[np.float64]
    cost: NDArray[np.float64]
    disc: NDArray[np.float64]
    base_profit: NDArray[np.float64]
    counted: NDArray[np.int64]
    weight: NDArray[np.float64]
    dist: NDArray[np.int64]
    cdf: NDArray[np.float64]
    guide: NDArray[np.int32]
    window: NDArray[np.int64]
    alias: NDArray[np.int64]
    arm_kind: NDArray[np.int64]
    arm_index: NDArray[np.int64]
    exp0: NDArray[np.float64]
    best0: int
    uplift0: NDArray[np.float64]
    uplift1: NDArray[np.float64]
    drift_sd: float
    drift_log_max: float
    reward_scale: float
    horizon: int
    n_arms: int
    n_months: int
    rule: int
    resource: NDArray[np.float64]
    budget: float
    pool_weight: NDArray[np.float64]
    pool_dist: NDArray[np.int64]
    pool_cdf: NDArray[np.float64]
    pool_guide: NDArray[np.int32]
    pool_window: NDArray[np.int64]
    pool_alias: NDArray[np.int64]
    pool_base: float


@njit(cache=True, inline="always")
def draw_cap(lam):
    """Scalar :func:`poisson_draw_bound` for the kernels."""
    if lam >= CAP_SWITCH:
        return max(np.floor(lam + np.sqrt(lam) * NORMAL_MAX + 0.5), SMALL_CAP)
    return SMALL_CAP


@njit(cache=True, inline="always")
def cdf_draw(u, d, dist, cdf, guide):
    """Value of tabled distribution ``d`` at uniform ``u`` in [0, 1) (CDF inversion)."""
    off = dist[d, 1]
    i = np.int64(guide[dist[d, 3] + np.int64(u * dist[d, 2])])
    while cdf[off + i] <= u:
        i += 1
    return dist[d, 0] + i


@njit(cache=True, inline="always")
def alias_draw(m, d, window, alias):
    """Entry of alias table ``d`` at the uniform's integer ``m`` (``window[d, 3]`` = the tail).

    ``m`` (:func:`~crm_envs.core.rng.splitmix_bits`, the uniform times 2**53) times ``K``
    splits into the bucket (its top bits) and a 53-bit position in it, compared with the
    bucket's threshold: no rounding.
    """
    scaled = m * window[d, 2]
    bucket = scaled >> 53
    entry = alias[window[d, 1] + bucket]
    return bucket if (scaled & 9007199254740991) < (entry >> 10) else entry & 1023


@njit(cache=True)
def tail_draw(d, u, dist, cdf, guide, window):
    """Draw of tabled distribution ``d`` outside its alias window, by inversion at ``u``.

    Called when :func:`alias_draw` returns the tail entry (probability <= ``TAIL_MASS``);
    kept out of line so that the alias path stays small.
    """
    off, first = dist[d, 1], window[d, 0] - dist[d, 0]
    below = cdf[off + first - 1] if first > 0 else 0.0
    above = cdf[off + first + window[d, 3] - 1]
    v = u * (below + 1.0 - above)
    return cdf_draw(v if v < below else above + (v - below), d, dist, cdf, guide)


@njit(cache=True, inline="always")
def tabled_draw(d, key, ctr, dist, cdf, guide, window, alias):
    """Draw of tabled distribution ``d`` from stream ``key``: ``(value, next counter)``.

    One uniform by the alias table; a second one, by inversion, when it lands on the tail
    entry (the out-of-line :func:`tail_draw`).
    """
    e = alias_draw(splitmix_bits(key, ctr), d, window, alias)
    if e == window[d, 3]:
        return tail_draw(d, splitmix_uniform(key, ctr + 1), dist, cdf, guide, window), ctr + 2
    return window[d, 0] + e, ctr + 1


@njit(cache=True)
def poisson_draw(lam, key, ctr):
    """Exact Poisson(``lam``) draw, capped at ``draw_cap(lam)``, from stream ``key``.

    Sequential inversion below :data:`PTRS_MIN`; from it up, Hörmann's (1993) transformed
    rejection with squeeze (PTRS), as NumPy's ``random_poisson_ptrs``.

    Args:
        lam: Mean >= 0.
        key: Stream key.
        ctr: Position of the first uniform to use.

    Returns:
        ``(draw, next counter)``.
    """
    if lam <= 0.0:
        return 0.0, ctr
    cap = draw_cap(lam)
    if lam < PTRS_MIN:
        u = splitmix_uniform(key, ctr)
        ctr += 1
        p = np.exp(-lam)
        total = p
        k = 0.0
        while u >= total and k < cap:
            k += 1.0
            p *= lam / k
            total += p
        return k, ctr
    slam = np.sqrt(lam)
    loglam = np.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    log_invalpha = np.log(1.1239 + 1.1328 / (b - 3.4))
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = splitmix_uniform(key, ctr) - 0.5
        v = splitmix_uniform(key, ctr + 1)
        ctr += 2
        us = 0.5 - abs(u)
        if us <= 0.0:
            continue
        k = np.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return min(k, cap), ctr
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if np.log(v) + log_invalpha - np.log(a / (us * us) + b) <= -lam + k * loglam - lgamma(
            k + 1.0
        ):
            return min(k, cap), ctr


@njit(cache=True, inline="always")
def reflect(x, bound):
    """``x`` folded into ``[-bound, bound]`` by reflection at both ends (any size of step)."""
    period = 4.0 * bound
    y = (x + bound) % period
    if y > 2.0 * bound:
        y = period - y
    return y - bound


@njit(cache=True, inline="always")
def plan_check_one(arms, i, n_arms, n_months, rule, resource, budget):
    """Check plan ``arms[i]`` against the arm range, the business rule and the budget.

    Args:
        arms: (N, J) int64 plans.
        i: The copy.
        n_arms: Arms per segment (valid arms are ``0 .. n_arms - 1``).
        n_months: Months S of the arm coding.
        rule: Business rule 1, 2, 3 or 4 (see ``task.RULE_TEXT``).
        resource: (J, A) resource of every segment and arm (members included).
        budget: Bound on a plan's resource, or a negative number for none.

    Returns:
        ``(in_range, rejected, over)``: every arm lies in range; the plan breaks the rule or
        the budget; it uses more resource than the budget (meaningless when not in range).
    """
    n_seg = arms.shape[1]
    first = arms[i, 0]
    kind0 = (first - 1) // n_months if first > 0 else -1
    ok = True
    any_on = False
    all_on = True
    used = 0.0
    in_range = True
    for j in range(n_seg):
        a = arms[i, j]
        if a < 0 or a >= n_arms:
            in_range = False
        else:
            if budget >= 0.0:
                used += resource[j, a]
            any_on = any_on or a > 0
            all_on = all_on and a > 0
            if rule == 3 and a != first:
                ok = False
            if rule == 2 and ((a - 1) // n_months != kind0 if a > 0 else kind0 >= 0):
                ok = False
    if rule == 4:
        ok = all_on or not any_on
    over = budget >= 0.0 and used > budget * (1.0 + 1e-9) + 1e-9
    return in_range, over or not ok, over


def _promo_check(arms, n_arms, n_months, rule, resource, budget, rejected_out, over_out):
    """Check campaign plans (:func:`plan_check_one` for every row; reads only).

    Args:
        arms: (N, J) int64 plans.
        n_arms: Arms per segment.
        n_months: Months S of the arm coding.
        rule: Business rule 1, 2, 3 or 4.
        resource: (J, A) resource of every segment and arm (members included).
        budget: Bound on a plan's resource, or a negative number for none.
        rejected_out: (N,) bool, written: the plan breaks the rule or the budget.
        over_out: (N,) bool, written: the plan uses more resource than the budget.

    Returns:
        The number of plans with an arm out of range (their outputs are meaningless).
    """
    bad = 0
    for i in prange(arms.shape[0]):
        in_range, rejected, over = plan_check_one(arms, i, n_arms, n_months, rule, resource,
                                                  budget)  # fmt: skip
        over_out[i] = over
        rejected_out[i] = rejected
        bad += 0 if in_range else 1
    return bad


@njit(cache=True, inline="always")
def _start(fstate, istate, i):
    """Start copy ``i``'s episode: log drift multipliers 0, no cycle done (no random draw)."""
    for j in range(fstate.shape[1]):
        fstate[i, j] = 0.0
    istate[i, T] = 0


@njit(cache=True, inline="always")
def run_cycle(kp, fstate, istate, i, arms, shared, off, row):
    """Run one campaign cycle of copy ``i``; return its reward (scaled).

    Per segment j, month by month: the transaction count's Poisson draw (tabled without drift
    or in unpromoted months, else :func:`poisson_draw`), then, with drift, the normal step of
    the log lift multiplier. Advances the copy's counter and ``T``.

    Args:
        kp: ``PromoKernelParams``.
        fstate: (N, J) log drift multipliers, modified.
        istate: (N, 4) int state, modified.
        i: The copy.
        arms: (N, J) arms per segment, or (N, 1) for one arm shared by every segment.
        shared: ``arms`` holds one arm per copy.
        off: The copy's plan was rejected: no segment is promoted.
        row: (2 J,) observation row to write (transactions, then profit, per member), or an
            empty array to write none.

    Returns:
        Profit of the counted segments over their expected baseline, times ``reward_scale``.
    """
    n_seg, n_s = kp.baseline.shape
    n_v = kp.cost.shape[0] + 1
    drift = kp.drift_sd > 0.0
    key = istate[i, KEY]
    ctr = istate[i, CTR]
    total = 0.0
    for j in range(n_seg):
        arm = 0 if off else arms[i, 0 if shared else j]
        k = kp.arm_kind[arm]
        mult = np.exp(fstate[i, j]) if drift else 1.0
        profit = 0.0
        count = 0.0
        for s in range(n_s):
            v = kp.arm_index[arm, s]
            d = (j * n_s + s) * n_v + v
            if drift and v > 0:
                lam = kp.members[j] * (kp.baseline[j, s] + kp.lift[j, k, s] * mult)
                n, ctr = poisson_draw(lam, key, ctr)
            else:
                m, ctr = tabled_draw(d, key, ctr, kp.dist, kp.cdf, kp.guide, kp.window,
                                     kp.alias)  # fmt: skip
                n = float(m)
            profit += kp.weight[j, s, v] * n
            count += n
        if row.shape[0] > 0:
            row[j] = count / kp.members[j]
            row[n_seg + j] = profit / kp.members[j]
        if kp.counted[j] != 0:
            total += profit - kp.base_profit[j]
        if drift:
            step = kp.drift_sd * splitmix_normal(key, ctr)
            ctr += 2
            fstate[i, j] = reflect(fstate[i, j] + step, kp.drift_log_max)
    istate[i, CTR] = ctr
    istate[i, T] += 1
    return total * kp.reward_scale


@njit(cache=True, inline="always")
def run_pooled_cycle(kp, istate, i, arm):
    """One drift-free bandit cycle of copy ``i`` with ``arm`` for every segment, by pools.

    Segments whose transactions are worth the same in every month and promotion index form a
    pool; a sum of independent Poisson counts is Poisson with the summed mean, so one draw
    per pool and month gives the reward's exact distribution (the bandit observes only the
    reward): 25 pools instead of 42 segments for the ferry cohort. Advances the copy's
    counter and ``T``; returns the reward (scaled).
    """
    n_s, n_v, n_pool = kp.pool_weight.shape
    key = istate[i, KEY]
    ctr = istate[i, CTR]
    total = 0.0
    for s in range(n_s):  # a month's pools lie side by side in the tables
        v = kp.arm_index[arm, s]
        first = (s * n_v + v) * n_pool
        for c in range(n_pool):
            m, ctr = tabled_draw(first + c, key, ctr, kp.pool_dist, kp.pool_cdf, kp.pool_guide,
                                 kp.pool_window, kp.pool_alias)  # fmt: skip
            total += kp.pool_weight[s, v, c] * m
    istate[i, CTR] = ctr
    istate[i, T] += 1
    return (total - kp.pool_base) * kp.reward_scale


@njit(cache=True, inline="always")
def start_bandit(kp, fstate, istate, i, obs, extra):
    """Start bandit copy ``i``: no drift yet; info = the first pull's means, regret 0."""
    _start(fstate, istate, i)
    obs.reshape(obs.shape[0], -1)[i, 0] = 0  # (N,) or, for the tabular agents, (N, 1)
    exp_out, best_out, regret_out = extra[0], extra[1], extra[2]  # by index (see BANDIT_KERNELS)
    for a in range(exp_out.shape[1]):
        exp_out[i, a] = kp.exp0[a]
    best_out[i] = kp.best0
    regret_out[i] = 0.0


@njit(cache=True, inline="always")
def advance_bandit(kp, fstate, istate, i, actions, obs, rew, extra):
    """Pull arm ``actions[i, 0]`` in bandit copy ``i``: one cycle with that arm for every segment.

    Info: the true expected reward of every arm for this pull (before the drift moves),
    the best arm (first of ties) and the pulled arm's regret. Truncated after ``horizon``.
    """
    exp_out, best_out, regret_out = extra[0], extra[1], extra[2]  # by index (see BANDIT_KERNELS)
    arms = actions  # (N, 1): the driver's 2-D view of the (N,) batch
    n_a = exp_out.shape[1]
    flat_obs = obs.reshape(obs.shape[0], -1)
    if kp.drift_sd > 0.0:  # the means of this pull, before the drift moves them
        for a in range(n_a):
            exp_out[i, a] = kp.uplift0[a]
        for j in range(kp.baseline.shape[0]):
            mult = np.exp(fstate[i, j])
            for a in range(n_a):
                exp_out[i, a] += mult * kp.uplift1[j, a]
        best = 0
        for a in range(1, n_a):
            if exp_out[i, a] > exp_out[i, best]:
                best = a
        regret_out[i] = exp_out[i, best] - exp_out[i, arms[i, 0]]
        # each segment's lift moves on its own: the cycle is drawn segment by segment
        rew[i] = run_cycle(kp, fstate, istate, i, arms, True, False, flat_obs[i, :0])
    else:  # fixed means: the best arm is tabled, and the cycle is drawn by pools
        for a in range(n_a):
            exp_out[i, a] = kp.exp0[a]
        best = kp.best0
        regret_out[i] = kp.exp0[best] - kp.exp0[arms[i, 0]]
        rew[i] = run_pooled_cycle(kp, istate, i, arms[i, 0])
    best_out[i] = best
    flat_obs[i, 0] = 0
    return False, istate[i, T] >= kp.horizon


@njit(cache=True, inline="always")
def start_campaign(kp, fstate, istate, i, obs, extra):
    """Start campaign copy ``i``: observation zeros, nothing rejected."""
    _start(fstate, istate, i)
    for j in range(obs.shape[1]):
        obs[i, j] = 0.0
    extra[0][i] = False
    extra[1][i] = False


@njit(cache=True, inline="always")
def advance_campaign(kp, fstate, istate, i, actions, obs, rew, extra):
    """Run plan ``actions[i]`` (validated arms) for one cycle in campaign copy ``i``.

    A plan that breaks the business rule or the budget is rejected (``extra[0]``, with
    ``extra[1]`` saying whether the budget was the reason): the cycle runs no promotion.
    Truncated after ``horizon`` cycles.
    """
    _, rejected, over = plan_check_one(actions, i, kp.n_arms, kp.n_months, kp.rule,
                                       kp.resource, kp.budget)  # fmt: skip
    extra[0][i] = rejected
    extra[1][i] = over
    rew[i] = run_cycle(kp, fstate, istate, i, actions, actions.shape[1] == 1, rejected, obs[i])
    return False, istate[i, T] >= kp.horizon


# The info arrays are taken from ``extra`` by index, never by unpacking (``a, b, c = extra``):
# numba 0.68's parallel build lost the writes into 1-D arrays unpacked from the tuple inside a
# prange body (the serial and pure Python builds were right; tests/core/test_kernels.py caught
# it).
BANDIT_KERNELS = make_kernels(start_bandit, advance_bandit, "promo_bandit")
"""The bandit's compiled driver (reset and step, parallel and serial, pure Python)."""
CAMPAIGN_KERNELS = make_kernels(start_campaign, advance_campaign, "promo_campaign")
"""The campaign's compiled driver (reset and step, parallel and serial, pure Python)."""
promo_check, promo_check_serial = parallel_and_serial(_promo_check, "promo_check")
