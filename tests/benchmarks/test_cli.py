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
