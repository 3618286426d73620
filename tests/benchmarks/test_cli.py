"""crm-bench envs / random / throughput."""

import subprocess
import sys

import pytest

from benchmarks.cli import main, random_rollout
from benchmarks.throughput import format_table, run_throughput
from crm_envs.registration import ENV_INFO


def test_envs_lists_every_id_with_its_paper(capsys):
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    for info in ENV_INFO:
        assert f"`{info.env_id}`" in out and info.paper in out


def test_console_script_is_installed():
    res = subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", "envs"], capture_output=True, text=True
    )
    assert res.returncode == 0 and "CustomerJourney-v0" in res.stdout


def test_random_rollout_is_below_the_optimum():
    r = random_rollout("crm_envs/CustomerJourney-v0", 2000, seed=0, progress_bar=False)
    assert r["episodes"] == 2000 and r["stderr"] > 0
    assert r["reference_kind"] == "exact optimum"
    assert r["mean"] + 5 * r["stderr"] < r["reference"]


def test_random_rollout_on_box_actions_uses_the_reference_policy():
    r = random_rollout("crm_envs/ROIAllocation-v0", 50, seed=0, progress_bar=False)
    assert r["reference_kind"].startswith("reference policy")
    assert r["mean"] < r["reference"]


def test_throughput_table_has_the_reference_and_ratios():
    results = run_throughput(
        sizes=(1, 64), single_steps=200, vector_env_steps=2000, repeats=1, progress_bar=False
    )
    table = format_table(results)
    rows = [line for line in table.splitlines()[2:]]
    assert len(rows) == (1 + len(ENV_INFO)) * 3  # (CartPole + ours) x (single, N=1, N=64)
    assert sum("CartPole-v1" in r for r in rows) == 3
    assert all(m.ns_per_step > 0 for m in results)
    ours = [r for r in rows if "crm_envs/" in r]
    assert all(r.rstrip(" |").split("|")[-1].strip() not in ("", "n/a") for r in ours)


def test_cli_rejects_bad_sizes():
    with pytest.raises(SystemExit):
        main(["throughput", "--sizes", "0"])


@pytest.mark.slow
def test_ppo_trains_on_roi_allocation_and_beats_random():
    from benchmarks.sb3_runner import train_sb3

    r = train_sb3("crm_envs/ROIAllocation-v0", "PPO", timesteps=30_000, seed=0, eval_episodes=200)
    assert r.reference_kind == "reference policy"
    assert r.mean > r.random_mean + 5 * r.stderr
    assert r.score > 0.5


def test_agents_speed_reports_ratios_against_same_run_references(capsys):
    from benchmarks.agents_speed import q_learning_speed, value_iteration_speed

    q = q_learning_speed(n_journeys=500, repeats=1)
    v = value_iteration_speed(n_states=50, n_actions=3, repeats=1)
    for r in (q, v):
        assert r.ours > 0 and r.reference > 0 and r.ratio == pytest.approx(r.ours / r.reference)
    assert main(["agents-speed", "--journeys", "300", "--states", "40", "--actions", "2"]) == 0
    out = capsys.readouterr().out
    assert "Q-learning updates" in out and "value-iteration sweep" in out


def test_td_replay_equals_a_pure_python_q_learning():
    import numpy as np

    from agents.tabular import Q_LEARNING, td_replay

    rng = np.random.default_rng(0)
    n, n_s = 2000, 30
    s, s2 = rng.integers(0, n_s, n), rng.integers(0, n_s, n)
    a, r, done = rng.integers(0, 4, n), rng.normal(size=n), rng.random(n) < 0.1
    q = np.zeros((n_s, 4))
    td_replay(Q_LEARNING, q, q.copy(), np.zeros_like(q), s, a, r, s2, done, 0.9, 0.1, 0.0, 0.0)
    ref = np.zeros((n_s, 4))
    for i in range(n):
        target = r[i] if done[i] else r[i] + 0.9 * ref[s2[i]].max()
        ref[s[i], a[i]] += 0.1 * (target - ref[s[i], a[i]])
    np.testing.assert_allclose(q, ref, atol=1e-12)


def test_portfolio_command_times_a_small_customer_base(tmp_path):
    png = tmp_path / "map.png"
    res = subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", "portfolio", "--customers", "30", "--sims",
         "5", "--horizon", "12", "--plot", str(png)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "30 customers x 5 sequences x 12 months" in res.stdout and png.stat().st_size > 5_000
