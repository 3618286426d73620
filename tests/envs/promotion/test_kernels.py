"""The promotion kernels: the Poisson sampler's tables and draws, plan checks, jitted == Python."""

import numpy as np
import pytest
from numba import njit
from scipy.stats import chi2, poisson

from crm_envs.core.kernels import DONE, KEY
from crm_envs.core.rng import seed_keys
from crm_envs.core.wrappers import encode_batch
from crm_envs.envs.promotion import kernels
from crm_envs.envs.promotion.env import PromotionEnv

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
    start, aoff, k, width = window[d]
    first = start - lo  # the window's first value, as an offset into the CDF
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
    _dist, _cdf, _guide, window, _alias = tables
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
        first = window[d, 0]
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
    first, width = window[0, 0], window[0, 3]
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
    full = PromotionEnv(campaign=True, rule=1).task
    budget = 0.4 * float(full.resource_used(np.asarray(full.best_action()))[0])
    setup = PromotionEnv(campaign=True, rule=rule, budget=budget).task
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
    rejected, flagged = setup.check(plans)
    np.testing.assert_array_equal(rejected, ~allowed | over)
    np.testing.assert_array_equal(flagged, over)
    # The plans reach the kernel unchanged: the kernel itself runs none for rejected ones.
    np.testing.assert_array_equal(encode_batch(setup, plans, len(plans)), plans)
    # The kernel's own check (plan_check_one, run in advance_one) flags the same plans.
    task, n = setup, len(plans)
    state = np.zeros((n, kernels.STATE_WIDTH), dtype=np.int64)
    state[:, KEY] = seed_keys(0, n)
    out = (np.zeros(n, bool), np.zeros(n, bool))
    obs = np.zeros((n, 84), np.float32)
    task.kernels.step_serial(task.kp, np.zeros((n, 42)), state, plans, obs, np.zeros(n),
                             np.zeros(n, bool), np.zeros(n, bool), out)  # fmt: skip
    np.testing.assert_array_equal(out[0], ~allowed | over)
    np.testing.assert_array_equal(out[1], over)


def _kernel_args(task, n, rng, done):
    """Fresh state and buffers for ``n`` copies of ``task``'s driver, some of them ended."""
    j, a = len(task.segments), task.n_arms
    state = np.zeros((n, kernels.STATE_WIDTH), dtype=np.int64)
    state[:, KEY] = seed_keys(3, n)
    state[:, DONE] = done
    fstate = rng.normal(0, 0.3, (n, j))
    space = task.observation_space
    obs = np.zeros((n, *space.shape), space.dtype)
    extra = tuple(np.zeros((n, *shape), dtype) for shape, dtype in task.outputs.values())
    if task.campaign:  # random plans (rule 2 rejects them) and shared arms (it allows them)
        actions = rng.integers(0, a, (n, j))
        actions[1::2] = rng.integers(0, a, (n // 2, 1))
    else:
        actions = rng.integers(0, a, n)
    return [task.kp, fstate, state, actions, obs, np.zeros(n), np.zeros(n, bool),
            np.zeros(n, bool), extra]  # fmt: skip


def _copy(arg):
    if type(arg) is tuple:  # the outputs (the kernel parameters are a NamedTuple, shared)
        return tuple(a.copy() for a in arg)
    return arg.copy() if isinstance(arg, np.ndarray) else arg


@pytest.mark.parametrize(
    "env",
    [
        PromotionEnv(),
        PromotionEnv(drift_sd=0.4, batch_size=None),
        PromotionEnv(campaign=True),
        PromotionEnv(campaign=True, drift_sd=0.3, rule=2),
    ],
    ids=["bandit", "bandit-drift-cohort", "campaign", "campaign-drift"],
)
def test_step_kernel_jitted_equals_its_python_source(env):
    task = env.task
    rng = np.random.default_rng(0)
    done = np.array([0, 1, 0, 0, 0, 0])
    compiled = _kernel_args(task, 6, rng, done)
    python = [_copy(a) for a in compiled]
    running = np.flatnonzero(done == 0)
    for t in range(3):  # three cycles: the ended copy restarts, the drift moves
        task.kernels.step_serial(*compiled)
        task.kernels.step_python(*python)
        for a, b in zip(compiled[1:], python[1:], strict=True):
            for x, y in zip(*((a, b) if type(a) is tuple else ((a,), (b,))), strict=True):
                if x.dtype.kind == "f":  # with drift, exp(): LLVM's and NumPy's may differ
                    np.testing.assert_allclose(x, y, rtol=1e-13, atol=0)  # in the last bit
                else:
                    np.testing.assert_array_equal(x, y)
        if t == 0:  # the ended copy was reset: reward 0; the others ran a cycle
            rew = compiled[5]
            assert rew[1] == 0.0 and np.all(rew[running] != 0.0)
            if task.campaign:
                rejected, over = compiled[8]
                want, want_over = task.check(compiled[3][running])
                np.testing.assert_array_equal(rejected[running], want)
                np.testing.assert_array_equal(over[running], want_over)
                assert not rejected[1]  # a restarted copy runs no plan
                if task.rule == 2:
                    assert want.any() and not want.all()
            else:
                exp, best, regret = compiled[8]
                np.testing.assert_array_equal(exp[1], task.kp.exp0)
                assert best[1] == task.kp.best0 and regret[1] == 0.0
    if task.kp.drift_sd > 0:
        assert not np.allclose(compiled[1], 0.0)
