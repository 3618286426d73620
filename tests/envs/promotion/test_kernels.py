"""The promotion kernels: the Poisson sampler's tables and draws, plan checks, jitted == Python."""

import numpy as np
import pytest
from numba import njit
from scipy.stats import chi2, poisson

from crm_envs.core.rng import seed_keys
from crm_envs.envs.promotion import kernels
from crm_envs.envs.promotion.env import PromotionBanditEnv, PromotionCampaignEnv

# Around the old normal branch (30), tiny bandit means and whole-cohort campaign means.
MEANS = [0.04, 0.7, 3.0, 12.0, 29.5, 30.0, 31.0, 100.0, 2000.0, 50_000.0]


def _capped_pmf(lam):
    """Poisson pmf with the mass above the draw cap put on the cap (the model, capped)."""
    cap = int(kernels.poisson_draw_bound(lam))
    ks = np.arange(cap + 1)
    pmf = poisson.pmf(ks, lam)
    pmf[-1] += poisson.sf(cap, lam)
    return pmf


def _represented_pmf(d, lam, tables):
    """The exact distribution the tables of distribution ``d`` sample, from their entries."""
    dist, cdf, _guide, window, alias = tables
    lo, off, size, _ = dist[d]
    first, aoff, k, width = window[d]
    out = np.zeros(lo + size)
    unit = 2.0**53
    for b in range(k):  # bucket b: its own entry with probability t / 2**53, else its alias
        entry = int(alias[aoff + b])
        t, other = entry >> 10, entry & 1023
        out_b = np.zeros(k)
        out_b[b] += t / unit / k
        out_b[other] += (unit - t) / unit / k
        out[lo + first : lo + first + width] += out_b[:width]
        if k > width:  # the tail entry: spread over the values outside the window by the CDF
            tail_mass = out_b[width]
            pmf = np.diff(np.concatenate([[0.0], cdf[off : off + size]]))
            outside = np.ones(size, dtype=bool)
            outside[first : first + width] = False
            out[lo:][outside] += tail_mass * pmf[outside] / pmf[outside].sum()
    return out


def test_tables_represent_the_capped_poisson_pmf_to_the_uniforms_resolution():
    lams = np.array(MEANS)
    tables = kernels.poisson_tables(lams)
    dist, _cdf, _guide, window, _alias = tables
    for d, lam in enumerate(lams):
        got = _represented_pmf(d, lam, tables)
        want = _capped_pmf(lam)
        n = max(got.size, want.size)
        got, want = np.pad(got, (0, n - got.size)), np.pad(want, (0, n - want.size))
        # Masses are kept in units of 2**-53; a bucket of a K-entry table is hit with
        # probability 1/K to within 2**-53, so no value can be off by more than ~K * 2**-52.
        assert np.abs(got - want).max() < 1e-12, lam
        assert got.sum() == pytest.approx(1.0, abs=1e-14)
        assert window[d, 2] <= kernels.ALIAS_MAX
        first = dist[d, 0] + window[d, 0]
        tail = want[:first].sum() + want[first + window[d, 3] :].sum()
        if window[d, 3] < kernels.ALIAS_MAX - 1:  # an uncapped window leaves little to the tail
            assert tail <= kernels.TAIL_MASS * (1 + 1e-9)


@njit
def _tabled_draws(d, n, key, dist, cdf, guide, window, alias):
    out = np.empty(n)
    ctr = 0
    for i in range(n):
        value, ctr = kernels.tabled_draw(d, key, ctr, dist, cdf, guide, window, alias)
        out[i] = value
    return out


@njit
def _general_draws(lam, n, key):
    out = np.empty(n)
    ctr = 0
    for i in range(n):
        value, ctr = kernels.poisson_draw(lam, key, ctr)
        out[i] = value
    return out


def _check_poisson_sample(x, lam):
    """Mean, variance and a chi-square test of draws against the capped Poisson pmf.

    Tolerances: 5 standard errors for mean (s.e. sqrt(lam / n)) and variance (s.e.
    sqrt((lam + 2 lam^2) / n), from the Poisson's fourth central moment), and a chi-square
    p-value above 1e-4 over bins of expected count >= 20 (tails pooled). With the seeds fixed
    the outcome is deterministic; a correct sampler passes each check with probability
    > 0.9999, a wrong shape (e.g. the old normal branch at 30, whose variance and skew differ)
    fails it at these sample sizes.
    """
    n = x.size
    assert abs(x.mean() - lam) < 5 * np.sqrt(lam / n)
    assert abs(x.var() - lam) < 5 * np.sqrt((lam + 2 * lam**2) / n)
    pmf = _capped_pmf(lam)
    counts = np.bincount(x.astype(np.int64), minlength=pmf.size)
    assert counts.size == pmf.size  # never above the cap
    expected = pmf * n
    order = np.argsort(-expected)  # pool the smallest bins into one
    keep = order[expected[order] >= 20]
    pooled_exp = np.append(expected[keep], n - expected[keep].sum())
    pooled_obs = np.append(counts[keep], n - counts[keep].sum())
    stat = ((pooled_obs - pooled_exp) ** 2 / pooled_exp).sum()
    assert chi2.sf(stat, pooled_exp.size - 1) > 1e-4, (lam, stat, pooled_exp.size)


@pytest.mark.parametrize("which", range(len(MEANS)))
def test_tabled_draws_are_poisson(which):
    lam = MEANS[which]
    tables = kernels.poisson_tables(np.array([lam]))
    x = _tabled_draws(0, 300_000, seed_keys(100 + which, 1)[0], *tables)
    _check_poisson_sample(x, lam)


@pytest.mark.parametrize("lam", [0.3, 9.99, 10.0, 29.5, 31.0, 700.0])
def test_drifting_means_draws_are_poisson(lam):
    # The drift path: sequential inversion below 10, PTRS (Hörmann 1993) from 10 up.
    _check_poisson_sample(_general_draws(lam, 300_000, seed_keys(7, 1)[0]), lam)


def test_tail_draws_follow_the_poisson_outside_the_window():
    lam = 50.0
    dist, cdf, guide, window, _alias = kernels.poisson_tables(np.array([lam]))
    first, width = window[0, 0] + dist[0, 0], window[0, 3]
    u = np.random.default_rng(0).random(100_000)
    x = np.array([kernels.tail_draw(0, v, dist, cdf, guide, window) for v in u])
    inside = (x >= first) & (x < first + width)
    assert not inside.any()
    pmf = _capped_pmf(lam)
    outside = np.ones(pmf.size, dtype=bool)
    outside[first : first + width] = False
    cond = np.where(outside, pmf, 0.0) / pmf[outside].sum()
    assert abs(x.mean() - cond @ np.arange(pmf.size)) < 0.05 * np.sqrt(lam)
    below = (x < first).mean()
    want_below = cond[:first].sum()
    assert abs(below - want_below) < 5 * np.sqrt(want_below * (1 - want_below) / x.size)


def _rule_allows(arms, rule, months):
    """Independent statement of the business rules (see ``env.RULE_TEXT``)."""
    on = arms > 0
    kind = np.where(on, (arms - 1) // months, -1)
    if rule == 1:
        return np.ones(len(arms), dtype=bool)
    if rule == 3:
        return (arms == arms[:, :1]).all(axis=1)
    if rule == 4:
        return on.all(axis=1) | ~on.any(axis=1)
    return ~on.any(axis=1) | (on.all(axis=1) & (kind == kind[:, :1]).all(axis=1))


@pytest.mark.parametrize("rule", [1, 2, 3, 4])
def test_plan_check_kernel_applies_rule_and_budget(rule):
    full = PromotionCampaignEnv(rule=1).setup
    budget = 0.4 * float(full.resource_used(np.asarray(full.best_action()))[0])
    setup = PromotionCampaignEnv(rule=rule, budget=budget).setup
    rng = np.random.default_rng(rule)
    plans = [rng.integers(0, 21, 42), np.zeros(42, dtype=np.int64), np.full(42, 7)]
    plans += [np.full(42, 3) + rng.integers(0, 2, 42), 1 + 5 * 2 + rng.integers(0, 5, 42)]
    plans += [np.where(rng.random(42) < 0.5, 0, 6), rng.integers(1, 21, 42)]
    plans = np.array(plans + [setup.random_allowed(rng) for _ in range(20)])
    allowed = _rule_allows(plans, rule, 5)
    assert allowed.any() and (rule == 1 or not allowed.all())
    np.testing.assert_array_equal(setup.allowed(plans), allowed)
    over = setup.resource_used(plans) > budget * (1 + 1e-9) + 1e-9
    assert over.any() and not over.all()
    np.testing.assert_array_equal(setup.over_budget(plans), over)
    arms, rejected, flagged = setup.arms(plans, len(plans))
    np.testing.assert_array_equal(rejected, ~allowed | over)
    np.testing.assert_array_equal(flagged, over)
    np.testing.assert_array_equal(arms, plans)  # the kernel, not a copy, runs none for them


def _kernel_args(env, n, rng, done):
    """Fresh state and buffers for ``n`` copies of ``env``'s kernel, some of them ended."""
    setup = env.setup
    j, a = len(setup.segments), setup.n_arms
    state = np.zeros((n, kernels.INT_WIDTH), dtype=np.int64)
    state[:, kernels.KEY] = seed_keys(3, n)
    state[:, kernels.DONE] = done
    fstate = rng.normal(0, 0.3, (n, j))
    if setup.campaign:
        arms = rng.integers(0, a, (n, j))
        rejected = rng.random(n) < 0.3
        return [setup.kp, fstate, state, arms, rejected, np.zeros((n, 2 * j), np.float32),
                np.zeros(n), np.zeros(n, bool), np.zeros(n, bool), np.zeros((1, 0)),
                np.zeros(0, np.int64), np.zeros(0)]  # fmt: skip
    return [setup.kp, fstate, state, rng.integers(0, a, (n, 1)), np.zeros(0, bool),
            np.zeros((1, 0), np.float32), np.zeros(n), np.zeros(n, bool), np.zeros(n, bool),
            np.zeros((n, a)), np.zeros(n, np.int64), np.zeros(n)]  # fmt: skip


@pytest.mark.parametrize(
    "env",
    [
        PromotionBanditEnv(),
        PromotionBanditEnv(drift_sd=0.4, batch_size=None),
        PromotionCampaignEnv(),
        PromotionCampaignEnv(drift_sd=0.3, rule=2),
    ],
    ids=["bandit", "bandit-drift-cohort", "campaign", "campaign-drift"],
)
def test_step_kernel_jitted_equals_its_python_source(env):
    rng = np.random.default_rng(0)
    done = np.array([0, 1, 0, 0])
    compiled = _kernel_args(env, 4, rng, done)
    python = [a.copy() if isinstance(a, np.ndarray) else a for a in compiled]
    for t in range(3):  # three cycles: the ended copy restarts, the drift moves
        kernels.promo_step_serial(*compiled)
        kernels.promo_step.py_func(*python)
        for a, b in zip(compiled[1:], python[1:], strict=True):
            np.testing.assert_array_equal(a, b)
        if t == 0:  # the ended copy was reset: reward 0; the others ran a cycle
            assert compiled[6][1] == 0.0 and np.all(compiled[6][[0, 2, 3]] != 0.0)
    if env.setup.kp.drift_sd > 0:
        assert not np.allclose(compiled[1], 0.0)
