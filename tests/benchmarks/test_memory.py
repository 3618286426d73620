"""``crm-bench memory``: the byte accounting of a vector env and of one step, at small N."""

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

from benchmarks.memory import (
    LIMIT_BYTES,
    MemoryResult,
    _nbytes,
    format_table,
    measure,
    measure_isolated,
    valid_actions,
)

JOURNEY = "crm_envs/CustomerJourney-v1"
CAMPAIGN = "crm_envs/PromotionCampaign-v2"
BANDIT = "crm_envs/PromotionBandit-v2"  # the same env class as the campaign, one arm a copy


def _make(env_id, n, copy=True):
    return gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", copy=copy)


@pytest.mark.parametrize("env_id", [JOURNEY, CAMPAIGN, BANDIT])
def test_what_the_env_holds_grows_linearly_with_n(env_id):
    small, large = measure(env_id, 1000, copy=False), measure(env_id, 3000, copy=False)
    for field in ("state_bytes", "held_output_bytes", "returned_bytes"):
        assert getattr(small, field) > 0, field
        assert getattr(large, field) == 3 * getattr(small, field), field
    assert large.other_bytes == small.other_bytes  # parameter tables do not grow with N
    # A batched Box keeps one copy's bounds (core.vector._batch_space); other batched spaces
    # (a MultiDiscrete of Discrete actions) hold one entry per copy.
    assert 0 < small.space_bytes <= large.space_bytes <= 3 * small.space_bytes
    # copy=False keeps two sets of exactly the arrays a step returns.
    assert small.held_output_bytes == 2 * small.returned_bytes


def test_a_batched_box_space_holds_one_copys_bounds():
    # The campaign's observation and action spaces batch to Box: their bounds do not grow.
    assert (
        measure(CAMPAIGN, 3000, copy=False).space_bytes
        == measure(CAMPAIGN, 1000, copy=False).space_bytes
    )


def test_returned_bytes_are_the_observations_rewards_flags_and_info_of_a_step():
    n = 1000
    r = measure(JOURNEY, n, copy=True)
    env = _make(JOURNEY, n)
    obs, info = env.reset(seed=0)
    obs, rew, term, trunc, info = env.step(valid_actions(env, info, np.random.default_rng(0)))
    want = obs.nbytes + rew.nbytes + term.nbytes + trunc.nbytes
    want += sum(v.nbytes for v in info.values() if isinstance(v, np.ndarray))
    assert r.returned_bytes == want


@pytest.mark.parametrize("env_id", [JOURNEY, CAMPAIGN])
def test_a_step_allocates_about_what_it_returns_with_copy_true_and_little_with_copy_false(
    env_id,
):
    fresh, reused = measure(env_id, 2000, copy=True), measure(env_id, 2000, copy=False)
    assert fresh.step_new_returned == fresh.returned_bytes  # every array is new
    assert fresh.returned_bytes <= fresh.step_traced_peak <= 1.25 * fresh.returned_bytes
    assert reused.step_new_returned == 0  # both preallocated sets existed already
    assert reused.step_extra < reused.returned_bytes / 4


def test_an_allocation_inside_step_shows_in_the_step_extra(monkeypatch):
    n = 2000
    cls = type(_make(JOURNEY, 2).unwrapped)
    clean = measure(JOURNEY, n, copy=False)
    original = cls._step_envs

    def wasteful(self, actions):
        scratch = np.ones(self.num_envs * 8)  # 64 bytes per copy, alive during the kernel
        info = original(self, actions)
        assert scratch.sum() > 0
        return info

    monkeypatch.setattr(cls, "_step_envs", wasteful)
    waste = measure(JOURNEY, n, copy=False)
    assert waste.step_extra >= clean.step_extra + 64 * n
    assert waste.returned_bytes == clean.returned_bytes


def test_campaign_actions_obey_the_rule_and_mask_actions_the_mask():
    rng = np.random.default_rng(0)
    camp = _make(CAMPAIGN, 500, copy=False)
    _, info = camp.reset(seed=0)
    plans = valid_actions(camp, info, rng)
    assert plans.shape == (500, 42) and camp.unwrapped.allowed(plans).all()
    journey = _make(JOURNEY, 500, copy=False)
    _, info = journey.reset(seed=0)
    acts = valid_actions(journey, info, rng)
    assert (np.asarray(info["action_mask"])[np.arange(500), acts] == 1).all()
    bandit = _make(BANDIT, 500, copy=False)  # one arm a copy, though its env checks plans too
    _, info = bandit.reset(seed=0)
    arms = valid_actions(bandit, info, rng)
    assert bandit.action_space.contains(arms)


def test_nbytes_counts_shared_memory_once():
    a = np.zeros(1000)
    assert _nbytes([a, a[10:], a.reshape(10, 100)]) == a.nbytes
    assert _nbytes([a, np.zeros(10, dtype=np.int8)]) == a.nbytes + 10
    assert _nbytes([a], exclude={(a.__array_interface__["data"][0], a.nbytes)}) == 0


def test_measure_rejects_fewer_than_two_steps():
    with pytest.raises(ValueError, match="steps must be >= 2"):
        measure(JOURNEY, 10, copy=False, steps=1)


def test_a_fresh_process_reports_its_own_peak_and_numba_allocations():
    r = measure_isolated(JOURNEY, 1000, copy=False)
    assert isinstance(r, MemoryResult) and r.env_id == JOURNEY and not r.copy
    assert 0 < r.baseline_rss <= r.env_peak_rss <= r.peak_rss < LIMIT_BYTES
    assert r.step_numba_allocs >= 0  # the child runs with NUMBA_NRT_STATS=1


def _result(**kw):
    base = dict(env_id=JOURNEY, num_envs=10, copy=True, steps=3, baseline_rss=100,
                compile_peak_rss=100, peak_rss=200, env_peak_rss=150, state_bytes=640,
                held_output_bytes=0, space_bytes=880, other_bytes=5, returned_bytes=460,
                action_bytes=80, step_traced_peak=480, step_new_returned=460,
                step_rss_rise=0, step_numba_allocs=0, seconds=1.0)  # fmt: skip
    return MemoryResult(**{**base, **kw})


def test_table_marks_rows_over_2_gb_and_steps_that_allocate_more_than_they_return():
    rows = [_result(peak_rss=LIMIT_BYTES + 1), _result(copy=False, env_peak_rss=LIMIT_BYTES + 1),
            _result(step_traced_peak=460 + 461)]  # fmt: skip
    table = format_table(rows, load="load average 1.00")
    lines = table.splitlines()
    assert "load average 1.00" in lines[0] and "N = 10" in lines[0]
    body = lines[4:]
    assert len(body) == 3
    assert body[0].endswith("| yes |") and "**over**" not in body[0]
    assert body[1].endswith("| **over 2 GB** |")
    assert "**over**" in body[2] and body[2].endswith("| yes |")


def test_cli_prints_a_row_per_id_and_copy_mode():
    res = subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", "memory", "--envs", JOURNEY,
         "--num-envs", "300", "--quiet"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    rows = [line for line in res.stdout.splitlines() if line.startswith(f"| `{JOURNEY}`")]
    assert [row.split("|")[2].strip() for row in rows] == ["True", "False"]
    assert "load average" in res.stdout
